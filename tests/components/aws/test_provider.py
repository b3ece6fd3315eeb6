"""The AWS provider (components/aws/provider.py): every AWS resource goes through it, and the shell
never moves the stack to another region."""

from __future__ import annotations

import json

from components.aws import policies as aws_policies
from offline.harness import RunResult, StackRun, stack_config
from settings.stack import StackSettings

AWS_PROVIDER = "pulumi:providers:aws"


def test_aws_resources_go_through_the_stack_provider(result: RunResult, settings: StackSettings) -> None:
    provider = result.one(AWS_PROVIDER)
    assert provider.inputs["region"] == settings.aws.region
    assert json.loads(provider.inputs["allowedAccountIds"]) == list(settings.aws.allowed_account_ids)
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert {
        "project": "reconciliation-platform",
        "stack": settings.environment,
        "managed-by": "pulumi",
    }.items() <= tags.items()
    aws = [r for r in result.resources if r.type.startswith("aws:")]
    rotated = aws_policies.rotated(settings)
    # reader role and its two policies, key, alias, the secrets; per rotated secret its role,
    # policy, log group, function, invoke permission and schedule
    reminders = 3 + len(settings.secrets.inventory) + len(settings.secrets.reminder_emails)  # role, topic, policy
    assert len(aws) == 5 + len(settings.secrets.inventory) + 6 * len(rotated) + reminders
    assert all(r.provider.startswith(provider.urn + "::") for r in aws)


def test_a_hostile_shell_does_not_move_the_stack_to_another_region(result: RunResult, stack: str) -> None:
    config, secret_keys = stack_config(stack)
    hostile = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "ap-southeast-2", "AWS_PROFILE": "someone-else"}
    again = StackRun(stack, config, secret_keys, environ=hostile).execute()
    assert repr(again.one(AWS_PROVIDER).inputs) == repr(result.one(AWS_PROVIDER).inputs)
