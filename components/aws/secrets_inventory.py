"""The backend's secrets in AWS: a customer-managed key, one Secrets Manager secret per inventory
entry (never a value: values come from rotation or their owners), and the IRSA role External
Secrets reads them with."""

from __future__ import annotations

import json
from datetime import date

import pulumi
from pulumi_aws.iam import Role, RolePolicy
from pulumi_aws.kms import Alias, Key
from pulumi_aws.secretsmanager import Secret

from components.aws import policies as aws_policies
from components.aws.secret_reminders import SecretReminders, reminder_role
from components.aws.secret_rotation import RotatedSecret, last_rotation_command, log_group_name, rotation_role
from components.aws.secret_values import ValueGate
from settings.aws import InventorySecret, aws_name, days_overdue
from settings.stack import StackSettings


def _json(document: dict) -> str:
    return json.dumps(document, sort_keys=True)


def secret_tags(secret: InventorySecret) -> dict:
    return {
        "owner": secret.owner,
        "rotation-days": str(secret.rotation_days),
        "automation": secret.automation,
        "env-name": secret.name,
    }


def overdue_warnings(settings: StackSettings, today: date) -> list[str]:
    """One line per manual secret past its due date on ``today`` (due today is not overdue yet).

    Only manual ones: an automated secret's last rotation is Secrets Manager's, and its
    ``lastRotated`` in the stack file, which nobody updates after each rotation, would make every
    run warn of a rotation that happened (see ``automated_rotation_note``)."""
    warnings = []
    for secret in settings.secrets.inventory:
        late = days_overdue(secret, today)
        if secret.automation == "manual" and late > 0:
            name = settings.secrets.secret_name(secret, settings.environment)
            warnings.append(
                f"{secret.name} ({name}, owner {secret.owner}) is {late} day{'s' if late > 1 else ''} overdue for "
                f"rotation: last rotated {secret.last_rotated.isoformat()}, every {secret.rotation_days} days"
            )
    return warnings


def automated_rotation_note(settings: StackSettings) -> list[str]:
    """Where each automated secret's last rotation can be read, after a heading ([] without any)."""
    rotated = aws_policies.rotated(settings)
    if not rotated:
        return []
    lines = [
        "Rotated automatically, so not checked against lastRotated (Secrets Manager records each rotation; "
        "the stack file does not):"
    ]
    for secret in rotated:
        lines += [
            f"{secret.name} (every {secret.rotation_days} days)",
            f"  last rotated: {last_rotation_command(settings, secret)}",
            f"  rotation logs: {log_group_name(settings, secret)}",
        ]
    return lines


class SecretsInventory(pulumi.ComponentResource):
    """The KMS key and alias; one Secrets Manager secret per inventory entry (new or adopted); the
    reader role and its two inline policies; the rotation roles and, per automated secret, its
    rotation (``RotatedSecret``); the reminders (``SecretReminders``); and the value gate the
    ExternalSecret waits for (``secret_values``)."""

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("reconciliation:secrets:SecretsInventory", name, None, opts)
        # Production secrets and their key survive a mistaken `pulumi destroy`.
        keep = pulumi.ResourceOptions(parent=self, protect=settings.production)
        stack, window = settings.environment, settings.secrets.recovery_window_days
        # The role first: KMS refuses a key policy naming a principal that does not exist yet.
        role = Role(
            f"{name}-reader",
            name=aws_policies.reader_role_name(settings),
            description="External Secrets reads the backend's secrets with this role (IRSA)",
            assume_role_policy=_json(aws_policies.reader_trust_policy(settings)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        rotation_roles = {
            secret.name: rotation_role(f"{name}-{aws_policies.slug(secret.name)}", settings, secret, self)
            for secret in aws_policies.rotated(settings)
        }
        reminders_role = reminder_role(name, settings, self)
        self.key = Key(
            name,
            description=f"Encrypts the reconciliation backend's secrets ({stack})",
            enable_key_rotation=True,
            deletion_window_in_days=window,
            policy=_json(aws_policies.key_policy(settings)),
            opts=pulumi.ResourceOptions.merge(
                keep, pulumi.ResourceOptions(depends_on=[role, reminders_role, *rotation_roles.values()])
            ),
        )
        Alias(
            name,
            name=f"alias/{aws_name(stack, 'secrets')}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secrets = {}
        for secret in settings.secrets.inventory:
            self.secrets[secret.name] = Secret(
                f"{name}-{aws_policies.slug(secret.name)}",
                name=settings.secrets.secret_name(secret, stack),
                description=secret.description,
                kms_key_id=self.key.arn,
                recovery_window_in_days=window,
                tags=secret_tags(secret),
                opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(import_=secret.import_arn)),
            )
        RolePolicy(
            f"{name}-read-secrets",
            role=role.name,
            policy=_json(aws_policies.read_secrets_policy(settings)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        RolePolicy(
            f"{name}-decrypt-key",
            role=role.name,
            policy=self.key.arn.apply(
                lambda arn: json.dumps(aws_policies.decrypt_policy(settings, arn), sort_keys=True)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        first_values = {}
        for secret in aws_policies.rotated(settings):
            rotated = RotatedSecret(
                f"{name}-{aws_policies.slug(secret.name)}",
                settings,
                secret=secret,
                stored=self.secrets[secret.name],
                key=self.key,
                role=rotation_roles[secret.name],
                opts=pulumi.ResourceOptions(parent=self),
            )
            first_values[secret.name] = rotated.rotation
        # What the ExternalSecret waits for: every secret holds a value (or `up` stops here, before
        # the cluster changes, naming the secrets to fill).
        self.values_ready = ValueGate(settings, self).ready(self.secrets, first_values)
        SecretReminders(
            f"{name}-reminders", settings, key=self.key, role=reminders_role, opts=pulumi.ResourceOptions(parent=self)
        )
        # A warning, not an error: an overdue secret must never block a deploy. A stack-level one:
        # tied to this component, it would wait for the component's URN, and a run stopped before
        # the AWS side (the cluster's operators) would leave that wait failing unseen.
        for warning in overdue_warnings(settings, date.today()):
            pulumi.log.warn(warning)
        note = automated_rotation_note(settings)
        if note:
            # Information, not a warning: there is nothing wrong to act on.
            pulumi.log.info("\n".join([note[0], *(f"  {line}" for line in note[1:])]))
        self.reader_role_arn = aws_policies.reader_role_arn(settings)
        self.register_outputs({"keyArn": self.key.arn, "readerRoleArn": self.reader_role_arn})
