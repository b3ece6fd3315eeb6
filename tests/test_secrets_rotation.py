"""Rotation, reminders and overdue warnings of the inventory's secrets, on the wire, every stack."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from helpers import changed, problems, run_changed, validated
from test_secrets import NS, identity_policy_problems

from components.aws import policies as aws_policies
from offline import render
from offline.harness import RunResult


def _first(stack: str, automation: str) -> tuple[int, Any]:
    """The stack file's first inventory entry rotated ``automation``ly: (its index, the entry)."""
    inventory = validated(stack)[0].secrets.inventory
    found = next(((i, secret) for i, secret in enumerate(inventory) if secret.automation == automation), None)
    if found is None:
        pytest.skip(f"{stack} has no {automation} secret")
    return found


def _overdue_line(stack: str, secret, last: date, late: int) -> str:
    name = secret.secret_name or f"reconciliation/{stack}/{secret.name}"  # the program's default name
    return (
        f"{secret.name} ({name}, owner {secret.owner}) is {late} day{'s' if late != 1 else ''} overdue for rotation: "
        f"last rotated {last.isoformat()}, every {secret.rotation_days} days"
    )


def _fresh(stack: str) -> dict[str, str]:
    """Every entry of the stack's inventory rotated today: no warning of its own."""
    inventory = validated(stack)[0].secrets.inventory
    return {f"secrets.inventory.{i}.lastRotated": date.today().isoformat() for i in range(len(inventory))}


@pytest.mark.parametrize(("days_after_due", "warned"), [(0, False), (1, True)])
def test_a_manual_secret_is_overdue_from_the_day_after_it_is_due(stack: str, days_after_due: int, warned) -> None:
    """Due on lastRotated + rotationDays: that day it is not overdue yet, the day after by 1 day."""
    index, secret = _first(stack, "manual")
    last = date.today() - timedelta(days=secret.rotation_days + days_after_due)
    result = run_changed(stack, {**_fresh(stack), f"secrets.inventory.{index}.lastRotated": last.isoformat()}).execute()
    assert result.warnings == ([_overdue_line(stack, secret, last, days_after_due)] if warned else [])
    assert result.one("aws:kms/key:Key")  # a warning, never an error: the deploy goes on


def test_an_automated_secret_is_never_reported_overdue_from_the_stack_file(stack: str) -> None:
    """Its last rotation is Secrets Manager's: a `lastRotated` years old is no warning."""
    index, secret = _first(stack, "automated")
    long_ago = date.today() - timedelta(days=10 * secret.rotation_days)
    result = run_changed(stack, {**_fresh(stack), f"secrets.inventory.{index}.lastRotated": long_ago.isoformat()})
    assert result.execute().warnings == []


def test_the_render_warns_of_the_overdue_manual_secrets_and_tells_where_automated_ones_rotated(
    stack: str, tmp_path, capsys
) -> None:
    """The committed stack files as they are: each manual secret past its due date today, to the day."""
    settings = validated(stack)[0]
    expected = []
    for secret in settings.secrets.inventory:
        late = (date.today() - secret.last_rotated).days - secret.rotation_days
        if secret.automation == "manual" and late > 0:
            expected.append(f"    warning: {_overdue_line(stack, secret, secret.last_rotated, late)}")
    assert render.main(["--stack", stack, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    warnings = [line for line in printed.splitlines() if line.startswith("    warning: ")]
    assert warnings == expected
    assert printed.startswith((tmp_path / "summary.txt").read_text())
    # For each automated one, once and not as a warning: where its last rotation is recorded.
    for secret in settings.secrets.rotated:
        name = secret.secret_name or f"reconciliation/{stack}/{secret.name}"
        command = (
            f"aws secretsmanager describe-secret --region {settings.aws.region} --secret-id {name} "
            "--query LastRotatedDate"
        )
        assert printed.count(command) == 1
        assert f"      last rotated: {command}\n" in printed
        function = f"reconciliation-{stack}-rotate-{secret.name.lower().replace('_', '-')}"
        assert f"      rotation logs: /aws/lambda/{function}\n" in printed
        assert f"warning: {secret.name} " not in printed
    heading = "Rotated automatically, so not checked against lastRotated (Secrets Manager records each rotation"
    assert printed.count(heading) == (1 if settings.secrets.rotated else 0)


def test_the_program_tells_pulumi_preview_the_same_as_information(stack: str, monkeypatch) -> None:
    """`pulumi preview` shows the program's info messages under Diagnostics, without `warning:`."""
    import pulumi

    told: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *args, **kwargs: told.append(message))
    settings = validated(stack)[0]
    run_changed(stack, {}).execute()
    assert len(told) == (1 if settings.secrets.rotated else 0)
    for secret in settings.secrets.rotated:
        assert told[0].startswith("Rotated automatically, so not checked against lastRotated")
        assert f"\n  {secret.name} (every {secret.rotation_days} days)\n    last rotated: aws secretsmanager" in told[0]


def test_without_automated_secrets_there_is_no_rotation_note(tmp_path, capsys) -> None:
    index, _ = _first("dev", "automated")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": changed("dev", {f"secrets.inventory.{index}.automation": "manual"})})
    )
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    assert "Rotated automatically" not in capsys.readouterr().out


def test_each_automated_secret_gets_a_rotation_function_limited_to_it(result: RunResult, settings) -> None:
    rotated = [s for s in settings.secrets.inventory if s.automation == "automated"]
    functions = result.by_type("aws:lambda/function:Function")
    assert [f.inputs["name"] for f in functions] == [
        f"reconciliation-{settings.environment}-rotate-{s.name.lower().replace('_', '-')}" for s in rotated
    ]
    for function in functions:
        assert function.inputs["handler"] == "jwt_secret.lambda_handler"
        assert function.inputs["code"]["archive"]["jwt_secret.py"]["file"] == "rotation/jwt_secret.py"
    (permission,) = result.by_type("aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert "sourceArn" in permission.inputs  # only for its own secret (its ARN: known after apply)
    (schedule,) = result.by_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert schedule.inputs["rotationRules"] == {"automaticallyAfterDays": rotated[0].rotation_days}
    assert permission.urn in schedule.depends_on
    policy = aws_policies.rotation_policy(settings, rotated[0], "arn:aws:kms:eu-west-1:111122223333:key/abc")
    assert identity_policy_problems(policy) == []
    (secret_statement, key_statement, logs) = policy["Statement"]
    assert secret_statement["Resource"] == [
        aws_policies.secret_arn_pattern(settings, settings.secrets.secret_name(rotated[0], settings.environment))
    ]
    assert key_statement["Condition"] == aws_policies.via_secrets_manager(settings)
    assert all(":log-group:/aws/lambda/reconciliation-" in arn for arn in logs["Resource"])


def test_manual_secrets_get_no_rotation_function() -> None:
    result = run_changed("dev", {"secrets.inventory.0.automation": "manual"}).execute()
    assert result.by_type("aws:lambda/function:Function") == []
    assert result.by_type("aws:secretsmanager/secretRotation:SecretRotation") == []


def test_owners_are_reminded_before_each_secret_is_due(result: RunResult, settings) -> None:
    from datetime import UTC, datetime, timedelta

    topic = result.one("aws:sns/topic:Topic")
    assert topic.inputs["name"] == f"reconciliation-{settings.environment}-secret-reminders"
    assert "kmsMasterKeyId" in topic.inputs  # encrypted with the secrets' key (known after apply)
    emails = sorted(s.inputs["endpoint"] for s in result.by_type("aws:sns/topicSubscription:TopicSubscription"))
    assert emails == sorted(settings.secrets.reminder_emails)
    schedules = {s.inputs["name"]: s.inputs for s in result.by_type("aws:scheduler/schedule:Schedule")}
    for secret in settings.secrets.inventory:
        due = secret.last_rotated + timedelta(days=secret.rotation_days)
        remind = due - timedelta(days=settings.secrets.reminder_lead_days)
        schedule = schedules[f"reconciliation-{settings.environment}-remind-{secret.name.lower().replace('_', '-')}"]
        start = datetime(remind.year, remind.month, remind.day, tzinfo=UTC)
        if secret.automation == "automated":
            # No date from the stack file: a check every rotation period, from the first `up`.
            assert schedule["scheduleExpression"] == f"rate({secret.rotation_days} days)"
            assert "startDate" not in schedule
        else:
            # Weekly from the reminder date, so an overdue secret keeps being reminded. A reminder
            # day already reached (or within the hour) is no StartDate: AWS refuses one in the past.
            assert schedule["scheduleExpression"] == "cron(0 9 ? * MON *)"
            if start > datetime.now(UTC) + timedelta(hours=1):
                assert schedule["startDate"] == f"{remind.isoformat()}T00:00:00Z"
            else:
                assert "startDate" not in schedule
        message = schedule["target"]["input"]
        assert message.startswith(f"{secret.name} (")
        # Manual secrets are rotated by people (their runbook) and due as the stack file says;
        # automated ones by the function, from a last rotation only Secrets Manager knows.
        if secret.automation == "manual":
            assert f"is due for rotation on {due.isoformat()}. Rotate it with its runbook" in message
        else:
            assert "is due" not in message
            assert f"is rotated automatically every {secret.rotation_days} days. Check that its last" in message
            assert message.endswith(" --query LastRotatedDate")
    policy = aws_policies.reminder_policy(settings, "arn:aws:kms:eu-west-1:111122223333:key/abc")
    assert identity_policy_problems(policy) == []
    assert policy["Statement"][0]["Resource"] == [aws_policies.reminder_topic_arn(settings)]
    trust = aws_policies.scheduler_trust_policy(settings)
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:SourceAccount": aws_policies.account(settings)}}


def test_production_names_who_gets_the_reminders() -> None:
    assert problems(run_changed("prod", {"secrets.reminderEmails": []})) == [
        f"{NS}:secrets.reminderEmails = []: production stacks name at least one recipient of the rotation reminders"
    ]


def test_setting_up_rotation_never_rotates_the_adopted_key_at_once(result: RunResult, settings) -> None:
    """An adopted key rotates on its schedule, never in the `up` that adopts it; a new secret is
    rotated at creation, which gives it its first value (tests/test_aws_emulator.py runs both)."""
    (rotated,) = settings.secrets.rotated
    (schedule,) = result.by_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert schedule.inputs["rotateImmediately"] is (rotated.import_arn is None)
    policy = next(r for r in result.by_type("aws:iam/rolePolicy:RolePolicy") if "RotatedSecret" in r.parent)
    assert policy.urn in schedule.depends_on  # never invoked before it may read the secret


def test_the_rotation_logs_are_kept_for_a_set_time(result: RunResult, settings) -> None:
    (logs,) = result.by_type("aws:cloudwatch/logGroup:LogGroup")
    (function,) = result.by_type("aws:lambda/function:Function")
    assert logs.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
    assert logs.inputs["retentionInDays"] == settings.secrets.log_retention_days
    assert logs.urn in function.depends_on  # the group exists before Lambda would create one that never expires


def test_reminder_dates_are_never_in_the_past_whatever_the_day() -> None:
    """EventBridge Scheduler refuses a recurring schedule's StartDate earlier than 5 minutes ago on
    create and update (moto/scheduler/models.py, Schedule._validate_start_date, says the same), and
    the AWS provider re-sends start_date on every update: whatever the clock says, the program
    sends a future reminder day or none."""
    from datetime import UTC, date, datetime, timedelta

    from components.aws.secret_reminders import START_MARGIN, reminder_start

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert reminder_start(date(2026, 12, 3), now) == "2026-12-03T00:00:00Z"
    assert reminder_start(date(2026, 12, 2), now) == "2026-12-02T00:00:00Z"  # 12 h ahead
    assert reminder_start(date(2026, 12, 1), now) is None  # today's midnight: past
    assert reminder_start(date(2025, 1, 1), now) is None  # long overdue
    # The margin's edge, both sides: exactly the margin ahead is too close.
    midnight = datetime(2026, 12, 2, tzinfo=UTC)
    assert reminder_start(date(2026, 12, 2), midnight - START_MARGIN) is None
    assert reminder_start(date(2026, 12, 2), midnight - START_MARGIN - timedelta(seconds=1)) is not None
