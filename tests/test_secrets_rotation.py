"""Rotation, reminders and overdue warnings of the inventory's secrets, on the wire, every stack."""

from __future__ import annotations

from helpers import problems, run_changed
from test_secrets import NS, identity_policy_problems

from components import aws_policies
from offline.harness import RunResult


def test_an_overdue_secret_is_a_warning_naming_it_never_an_error() -> None:
    from datetime import date, timedelta

    last = date.today() - timedelta(days=100)  # due after 90 days: 10 days late
    fresh = date.today().isoformat()
    result = run_changed(
        "dev", {"secrets.inventory.0.lastRotated": last.isoformat(), "secrets.inventory.1.lastRotated": fresh}
    ).execute()
    assert result.warnings == [
        f"secret JWT_SECRET (reconciliation/dev/JWT_SECRET) is 10 days overdue for rotation: last rotated "
        f"{last.isoformat()}, every 90 days, owner Security"
    ]
    assert result.one("aws:kms/key:Key")  # the deploy goes on


def test_the_render_prints_the_warnings(tmp_path, capsys) -> None:
    import yaml
    from helpers import changed

    from offline import render

    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": changed("dev", {"secrets.inventory.1.lastRotated": "2020-01-01"})}))
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Diagnostics:\n    warning: secret DATABASE_PASSWORD (reconciliation/dev/DATABASE_PASSWORD) is " in out
    assert "days overdue for rotation" in (tmp_path / "out" / "summary.txt").read_text()


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
        # Weekly from the reminder date, so an overdue secret keeps being reminded. A reminder day
        # already reached (or within the hour) is no StartDate at all: AWS refuses one in the past.
        assert schedule["scheduleExpression"] == "cron(0 9 ? * MON *)"
        start = datetime(remind.year, remind.month, remind.day, tzinfo=UTC)
        if start > datetime.now(UTC) + timedelta(hours=1):
            assert schedule["startDate"] == f"{remind.isoformat()}T00:00:00Z"
        else:
            assert "startDate" not in schedule
        message = schedule["target"]["input"]
        assert message.startswith(f"{secret.name} (")
        assert due.isoformat() in message
        # Manual secrets are rotated by people (their runbook), automated ones by the function.
        action = "rotated automatically" if secret.automation == "automated" else "Rotate it with its runbook"
        assert action in message
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

    from components.secret_reminders import START_MARGIN, reminder_start

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert reminder_start(date(2026, 12, 3), now) == "2026-12-03T00:00:00Z"
    assert reminder_start(date(2026, 12, 2), now) == "2026-12-02T00:00:00Z"  # 12 h ahead
    assert reminder_start(date(2026, 12, 1), now) is None  # today's midnight: past
    assert reminder_start(date(2025, 1, 1), now) is None  # long overdue
    # The margin's edge, both sides: exactly the margin ahead is too close.
    midnight = datetime(2026, 12, 2, tzinfo=UTC)
    assert reminder_start(date(2026, 12, 2), midnight - START_MARGIN) is None
    assert reminder_start(date(2026, 12, 2), midnight - START_MARGIN - timedelta(seconds=1)) is not None
