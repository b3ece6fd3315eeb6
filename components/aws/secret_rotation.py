"""Automatic rotation of one secret: the rotation function (``rotation/jwt_secret.py``), its role
limited to that secret and the key, Secrets Manager's permission to invoke it, and the schedule."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pulumi
from pulumi_aws.cloudwatch import LogGroup
from pulumi_aws.iam import Role, RolePolicy
from pulumi_aws.kms import Key
from pulumi_aws.lambda_ import Function, Permission
from pulumi_aws.secretsmanager import Secret, SecretRotation

from components.aws import policies as aws_policies
from settings.aws import InventorySecret
from settings.stack import StackSettings

HANDLER = Path(__file__).resolve().parents[2] / "rotation" / "jwt_secret.py"


def _json(document: dict) -> str:
    return json.dumps(document, sort_keys=True)


def log_group_name(settings: StackSettings, secret: InventorySecret) -> str:
    return f"/aws/lambda/{aws_policies.rotation_function_name(settings, secret)}"


def last_rotation_command(settings: StackSettings, secret: InventorySecret) -> str:
    """What prints an automated secret's last rotation: Secrets Manager records it, and nobody
    updates the stack file's ``lastRotated`` after each rotation, so the program cannot know it."""
    name = settings.secrets.secret_name(secret, settings.environment)
    return (
        f"aws secretsmanager describe-secret --region {settings.aws.region} --secret-id {shlex.quote(name)} "
        "--query LastRotatedDate"
    )


def rotation_role(name: str, settings: StackSettings, secret: InventorySecret, parent: pulumi.Resource) -> Role:
    """The rotation function's role, registered before the key: the key policy names it, and KMS
    refuses a policy naming a role that does not exist yet."""
    return Role(
        f"{name}-rotation",
        name=aws_policies.rotation_function_name(settings, secret),
        description=f"Rotates {settings.secrets.secret_name(secret, settings.environment)} only",
        assume_role_policy=_json(aws_policies.lambda_trust_policy()),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class RotatedSecret(pulumi.ComponentResource):
    """The function, what it may do, who may invoke it, and the schedule, for one secret."""

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        *,
        secret: InventorySecret,
        stored: Secret,
        key: Key,
        role: Role,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("reconciliation:secrets:RotatedSecret", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        function_name = aws_policies.rotation_function_name(settings, secret)
        policy = RolePolicy(
            name,
            role=role.name,
            policy=key.arn.apply(lambda arn: _json(aws_policies.rotation_policy(settings, secret, arn))),
            opts=child,
        )
        # Declared, not left to Lambda: a group Lambda creates keeps its logs forever.
        logs = LogGroup(
            name,
            name=log_group_name(settings, secret),
            retention_in_days=settings.secrets.log_retention_days,
            opts=child,
        )
        function = Function(
            name,
            name=function_name,
            description=f"Secrets Manager rotation of {secret.name}",
            runtime="python3.12",
            handler="jwt_secret.lambda_handler",
            code=pulumi.AssetArchive({"jwt_secret.py": pulumi.FileAsset(str(HANDLER))}),
            role=role.arn,
            timeout=30,
            environment={"variables": {"SECRET_PROPERTY": secret.property}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        # Only Secrets Manager, and only for this secret, may invoke it.
        permission = Permission(
            name,
            action="lambda:InvokeFunction",
            function=function.name,
            principal="secretsmanager.amazonaws.com",
            source_arn=stored.arn,
            opts=child,
        )
        # A new secret is rotated at creation: that gives it its first value, so a new stack's
        # first `up` can sync it. An adopted one is not: rotating a live key in the same `up` would
        # leave every pod not yet holding the previous value rejecting tokens; it follows the
        # schedule (counted from its last rotation, so an overdue key rotates in the next window).
        # Changing this input alone never starts a rotation (terraform-provider-aws
        # internal/service/secretsmanager/secret_rotation.go: Update calls RotateSecret only when
        # the function, the rules or rotation_enabled change).
        self.rotation = SecretRotation(
            name,
            secret_id=stored.id,
            rotation_lambda_arn=function.arn,
            rotation_rules={"automatically_after_days": secret.rotation_days},
            rotate_immediately=secret.import_arn is None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission, policy]),
        )
        self.register_outputs({"function": function_name})
