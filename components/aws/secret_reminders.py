"""Reminders to each secret's owners, one EventBridge Scheduler schedule per secret publishing to
an SNS topic encrypted with the secrets' key, whose subscribers come from settings: weekly from
`lastRotated + rotationDays - reminderLeadDays` for a manual secret; for an automated one, whose
last rotation only Secrets Manager knows, a request every rotation period to check that it ran.
The scheduler's role may publish to that topic only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pulumi
from pulumi_aws.iam import Role, RolePolicy
from pulumi_aws.kms import Key
from pulumi_aws.scheduler import Schedule
from pulumi_aws.sns import Topic, TopicSubscription

from components.aws import policies as aws_policies
from components.aws.secret_rotation import last_rotation_command
from settings.aws import InventorySecret, aws_name
from settings.stack import StackSettings

# Mondays, 09:00 UTC.
REMINDER_CRON = "cron(0 9 ? * MON *)"
# EventBridge Scheduler refuses a recurring schedule whose StartDate is more than 5 minutes in the
# past, on CreateSchedule and on UpdateSchedule, and the AWS provider re-sends start_date on every
# update (terraform-provider-aws internal/service/scheduler/schedule.go, resourceScheduleUpdate
# builds a whole UpdateScheduleInput). A start this close to now is left out instead: an `up` may
# run that long after the program computed it.
START_MARGIN = timedelta(hours=1)


def reminder_start(reminder_day: date, now: datetime) -> str | None:
    """The schedule's StartDate: the reminder day while it is ahead, nothing once it is near or
    past. Without a StartDate the weekly schedule is active at once, which is what a secret that
    is due, or overdue, needs; and no date the program sends can be in the past on a later update."""
    start = datetime.combine(reminder_day, time(), tzinfo=UTC)
    if start <= now + START_MARGIN:
        return None
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")


def reminder_role(name: str, settings: StackSettings, parent: pulumi.Resource) -> Role:
    """Registered before the key, whose policy names it (KMS refuses unknown principals)."""
    return Role(
        f"{name}-reminders",
        name=aws_policies.reminder_topic_name(settings),
        description="EventBridge Scheduler publishes the secrets' rotation reminders with this role",
        assume_role_policy=json.dumps(aws_policies.scheduler_trust_policy(settings), sort_keys=True),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def reminder_message(settings: StackSettings, secret: InventorySecret, due: str) -> str:
    name = settings.secrets.secret_name(secret, settings.environment)
    who = f"{secret.name} ({name}, {settings.environment}, owner {secret.owner})"
    if secret.automation == "automated":
        # No due date: it counts from the last rotation, which Secrets Manager records and the
        # stack file's lastRotated does not follow.
        return (
            f"{who} is rotated automatically every {secret.rotation_days} days. Check that its last rotation "
            f"is recent: {last_rotation_command(settings, secret)}"
        )
    return (
        f"{who} is due for rotation on {due}. Rotate it with its runbook in "
        "docs/security/SECRETS_ROTATION_POLICY.md, then update lastRotated."
    )


class SecretReminders(pulumi.ComponentResource):
    def __init__(
        self, name: str, settings: StackSettings, *, key: Key, role: Role, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("reconciliation:secrets:SecretReminders", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = Topic(name, name=aws_policies.reminder_topic_name(settings), kms_master_key_id=key.arn, opts=child)
        for index, email in enumerate(settings.secrets.reminder_emails):
            TopicSubscription(f"{name}-{index}", topic=topic.arn, protocol="email", endpoint=email, opts=child)
        RolePolicy(
            name,
            role=role.name,
            policy=key.arn.apply(lambda arn: json.dumps(aws_policies.reminder_policy(settings, arn), sort_keys=True)),
            opts=child,
        )
        lead = timedelta(days=settings.secrets.reminder_lead_days)
        now = datetime.now(UTC)
        for secret in settings.secrets.inventory:
            due = secret.last_rotated + timedelta(days=secret.rotation_days)
            if secret.automation == "automated":
                # Its last rotation is Secrets Manager's, not the stack file's: no date to count
                # from, so once every rotation period the owners are asked to check that it ran.
                every, start = f"rate({secret.rotation_days} days)", None
                what = f"Asks the owners of {secret.name} every {secret.rotation_days} days to check its rotation ran"
            else:
                # Weekly from the reminder date until `lastRotated` moves it: a one-time schedule in
                # the past (an overdue secret) is refused by AWS and would remind nobody.
                every, start = REMINDER_CRON, reminder_start(due - lead, now)
                what = f"Reminds the owners of {secret.name} weekly from {lead.days} days before it is due"
            Schedule(
                f"{name}-{aws_policies.slug(secret.name)}",
                name=aws_name(settings.environment, "remind", secret),
                description=what,
                schedule_expression=every,
                schedule_expression_timezone="UTC",
                start_date=start,
                flexible_time_window={"mode": "OFF"},
                target={
                    "arn": topic.arn,
                    "role_arn": role.arn,
                    "input": reminder_message(settings, secret, due.isoformat()),
                },
                opts=child,
            )
        self.register_outputs({"topic": aws_policies.reminder_topic_name(settings)})
