"""Reminders to each secret's owners (components/aws/secret_reminders.py), on the wire, every stack."""

from __future__ import annotations

from helpers import identity_policy_problems

from components.aws import policies as aws_policies
from offline.harness import RunResult


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
