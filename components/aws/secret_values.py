"""The gate between the AWS side and the cluster side: every inventory secret holds a value before
the ExternalSecret is created or changed.

External Secrets skips an entry whose AWS secret has no value under deletionPolicy Delete or
Merge and still reports the sync as done, so a Ready ExternalSecret does not prove that the Secret
holds every key; pods reading a missing key fail with CreateContainerConfigError, and `up` would
only stop after the Deployment's ten-minute wait. The program asks Secrets Manager instead, through
the stack's AWS provider (`aws:secretsmanager/getSecretVersions`, ListSecretVersionIds: version ids
and staging labels, never a value), and stops with the secrets to fill and the command for each.
"""

from __future__ import annotations

import asyncio
import shlex

import pulumi
from pulumi_aws.secretsmanager import get_secret_versions_output

from components.aws import policies as aws_policies
from settings.aws import InventorySecret
from settings.stack import StackSettings

CURRENT = "AWSCURRENT"
# A rotation set up in the same `up` runs asynchronously (terraform-provider-aws
# internal/service/secretsmanager/secret_rotation.go calls RotateSecret and does not wait): the
# function's four steps take seconds, a cold start included.
FIRST_VALUE_POLLS = 24
POLL_SECONDS = 5.0


def has_value(stages: list[list[str]]) -> bool:
    """True when one version (its staging labels) is AWSCURRENT: what External Secrets reads."""
    return any(CURRENT in labels for labels in stages)


def put_value_command(settings: StackSettings, secret: InventorySecret) -> str:
    name = settings.secrets.secret_name(secret, settings.environment)
    value = f"$(jq -n --arg v \"$VALUE\" '{{{secret.property}: $v}}')"
    return (
        f"aws secretsmanager put-secret-value --region {settings.aws.region} --secret-id {shlex.quote(name)} "
        f'--secret-string "{value}"'
    )


def missing_values_message(settings: StackSettings, missing: list) -> str:
    """One line per secret without a value, each with what gives it one."""
    count = (
        f"{len(missing)} secrets of stack '{settings.environment}' hold"
        if len(missing) > 1
        else (f"1 secret of stack '{settings.environment}' holds")
    )
    lines = [
        f"{count} no value in AWS Secrets Manager: External Secrets cannot sync it, and pods reading it "
        "could not start. Nothing in the cluster was changed. Give each its value, then run `pulumi up` again:"
    ]
    for secret in missing:
        name = settings.secrets.secret_name(secret, settings.environment)
        if secret.automation == "automated":
            function = f"/aws/lambda/{aws_policies.rotation_function_name(settings, secret)}"
            how = (
                f"rotated automatically, but no rotation has given it a value yet: see the log group {function}, "
                f"or start one: aws secretsmanager rotate-secret --region {settings.aws.region} "
                f"--secret-id {shlex.quote(name)}"
            )
        else:
            how = f"owner {secret.owner}: {put_value_command(settings, secret)}"
        lines.append(f"  - {secret.name} ({name}): {how}")
    return "\n".join(lines)


class ValueGate:
    """What the ExternalSecret depends on: resolves once every secret holds a value, raises
    ``pulumi.RunError`` naming the ones that do not."""

    def __init__(self, settings: StackSettings, parent: pulumi.Resource):
        self.settings, self.parent = settings, parent

    def ready(self, stored: dict, first_values: dict) -> pulumi.Output:
        """``stored``: inventory name -> Secret; ``first_values``: name -> the SecretRotation that
        gives a new secret its first value (awaited for a while before the secret counts as empty)."""
        arns = {name: secret.arn for name, secret in stored.items()}
        rotations = {name: rotation.id for name, rotation in first_values.items()}
        return pulumi.Output.all(arns=arns, rotations=rotations).apply(lambda values: self._check(values["arns"]))

    async def _check(self, arns: dict[str, str]) -> list[str]:
        by_name = {secret.name: secret for secret in self.settings.secrets.inventory}
        results = await asyncio.gather(*(self._has_value(by_name[name], arn) for name, arn in arns.items()))
        missing = [by_name[name] for name, ok in zip(arns, results, strict=True) if not ok]
        if missing:
            raise pulumi.RunError(missing_values_message(self.settings, missing))
        return sorted(arns)

    async def _has_value(self, secret: InventorySecret, arn: str) -> bool:
        waits = FIRST_VALUE_POLLS if secret.automation == "automated" and secret.import_arn is None else 0
        for attempt in range(waits + 1):
            found = await get_secret_versions_output(
                secret_id=arn, opts=pulumi.InvokeOutputOptions(parent=self.parent)
            ).future()
            if found is not None and has_value([list(v.version_stages or []) for v in found.versions or []]):
                return True
            if attempt < waits:
                await asyncio.sleep(POLL_SECONDS)
        return False
