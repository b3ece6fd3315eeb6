"""The explicit AWS provider every AWS resource of the stack goes through."""

from __future__ import annotations

import pulumi
from pulumi_aws.provider import Provider

from settings.aws import program_tags
from settings.stack import StackSettings


def aws_provider_inputs(settings: StackSettings) -> dict:
    """Region and account from the settings, never from `AWS_REGION` or a profile's default: the
    SDK fills an unset region from the shell, and `allowedAccountIds` makes the provider refuse
    credentials of any other account. Only the credentials themselves come from the shell."""
    return {
        "region": settings.aws.region,
        "allowed_account_ids": list(settings.aws.allowed_account_ids),
        "default_tags": {
            # The project as Pulumi.yaml names it, the stack, and who manages the resource.
            "tags": {**settings.aws.tags, **program_tags(pulumi.get_project(), settings.environment)}
        },
    }


def aws_provider(settings: StackSettings, after: list | None = None) -> Provider:
    """``after``: what must hold before any AWS resource changes (the cluster's operators)."""
    return Provider(
        f"aws-{settings.environment}",
        **aws_provider_inputs(settings),
        opts=pulumi.ResourceOptions(depends_on=after) if after else None,
    )
