"""Settings of the AWS side: the account and region a stack may deploy into, the cluster's OIDC
provider for IRSA, default tags, and the backend's secrets inventory.

Like the pinned Kubernetes context, region and account are required and never read from the
operator's environment (`AWS_REGION`, `AWS_PROFILE`'s account): a stack can only ever deploy into
the account it names.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from settings.base import DnsSubdomain, Email, Int32, Model, each_once, matching
from settings.objects import MANAGED_BY


def program_tags(project: str, stack: str) -> dict[str, str]:
    """The tags the program itself puts on every AWS resource (``aws.tags`` may not set them)."""
    return {"project": project, "stack": stack, "managed-by": MANAGED_BY}


PROGRAM_TAGS = tuple(program_tags("", ""))

# The commercial partition (arn:aws:...) only: the policy builders write that partition.
_REGION = re.compile(r"(us|eu|ap|ca|sa|me|af|il|mx)-[a-z]+-[0-9]")
_ACCOUNT = re.compile(r"[0-9]{12}")
_OIDC_ARN = re.compile(r"arn:aws:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9./_-]*[A-Za-z0-9_-]")
_ISSUER = re.compile(r"https://[A-Za-z0-9./_-]*[A-Za-z0-9_-]")
_TAG_KEY = re.compile(r"[\w .:/=+@-]{1,128}")
_TAG_VALUE = re.compile(r"[\w .:/=+@-]{0,256}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_PROPERTY = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_SECRET_ARN = re.compile(r"arn:aws:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}")
_DURATION = re.compile(r"([0-9]+h)?([0-9]+m)?([0-9]+s)?")

SecretName = Annotated[str, matching(_SECRET_NAME, "a Secrets Manager name such as reconciliation/jwt-secret")]
# The retention periods CloudWatch Logs accepts, in days (from a month on).
RetentionDays = Literal[30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
Region = Annotated[str, matching(_REGION, "an AWS region such as eu-west-1")]
AccountId = Annotated[str, matching(_ACCOUNT, "a 12-digit AWS account ID, quoted")]
TagKey = Annotated[str, matching(_TAG_KEY, "a tag key: 1-128 letters, digits, spaces or _.:/=+-@")]
TagValue = Annotated[str, matching(_TAG_VALUE, "a tag value: up to 256 letters, digits, spaces or _.:/=+-@")]


def _not_in_the_future(day: date) -> date:
    """A date such as 2025-01-31, not in the future."""
    if day > date.today():
        raise ValueError(f"a date not in the future (today is {date.today().isoformat()})")
    return day


def _go_duration(text: str) -> str:
    """A duration such as 1h, 30m or 1h30m, at least 1m."""
    # What ExternalSecret's refreshInterval accepts (a Go duration), at least a minute: a tighter
    # loop costs a Secrets Manager call per secret per interval.
    match = _DURATION.fullmatch(text) if text else None
    if match is None:
        raise ValueError("expected a duration such as 1h, 30m or 1h30m")
    h, m, s = (int(part[:-1]) if part else 0 for part in match.groups())
    if h * 3600 + m * 60 + s < 60:
        raise ValueError("expected a duration of at least 1m, such as 1h")
    return text


class OidcProvider(Model):
    """The EKS cluster's IAM OIDC provider: the only principal the secrets reader's role trusts."""

    arn: Annotated[
        str, matching(_OIDC_ARN, "an IAM OIDC provider ARN such as arn:aws:iam::<account>:oidc-provider/...")
    ] = Field(
        description="The provider's ARN: its account must be in `aws.allowedAccountIds`, and it must name the "
        "issuer of `issuerUrl`."
    )
    issuer_url: Annotated[str, matching(_ISSUER, "the cluster's OIDC issuer URL, https://..., no trailing slash")] = (
        Field(description="The cluster's OIDC issuer URL, as `aws eks describe-cluster` prints it.")
    )

    @property
    def issuer(self) -> str:
        """The issuer as IAM condition keys name it: the URL without its scheme."""
        return self.issuer_url.removeprefix("https://")


class Aws(Model):
    region: Region = Field(description="The region the AWS provider deploys into, never `AWS_REGION`.")
    allowed_account_ids: Annotated[tuple[AccountId, ...], Field(min_length=1), each_once("value")] = Field(
        description="The only accounts the stack deploys into: the provider refuses the credentials of any other."
    )
    oidc_provider: OidcProvider = Field(
        description="The cluster's IAM OIDC provider: the only principal the secrets reader's role trusts (IRSA)."
    )
    tags: dict[TagKey, TagValue] = Field(
        default_factory=dict,
        description="Default tags of every AWS resource, among them the required `owner` (the team that answers "
        "for them); the program sets `project`, `stack` and `managed-by` itself, and refuses them here.",
    )


class InventorySecret(Model):
    """One secret the backend reads, as the rotation policy lists it."""

    name: Annotated[str, matching(_ENV_NAME, "an environment variable name in capitals such as JWT_SECRET")] = Field(
        description="The environment variable the backend reads the secret from; each once, and not also in "
        "`backend.env`."
    )
    # Also a tag value on the secret: the tag character set.
    owner: Annotated[
        str,
        Field(min_length=1, max_length=64),
        matching(_TAG_VALUE, "a team name: letters, digits, spaces or _.:/=+-@"),
    ] = Field(description="The team that rotates the secret; also a tag of the secret.")
    rotation_days: Int32 = Field(
        ge=1,
        le=3650,
        description="Days from one rotation to the next: longer than `secrets.reminderLeadDays`, and at most 1000 "
        "for an automated secret (Secrets Manager's limit).",
    )
    automation: Literal["automated", "manual"] = Field(
        description="`automated`: a rotation function of this repository rotates it on schedule; `manual`: its "
        "owner does, following its runbook in the rotation policy."
    )
    last_rotated: Annotated[date, AfterValidator(_not_in_the_future)] = Field(
        description="The day of the last rotation, from which the rotation policy counts the next; for an "
        "automated secret Secrets Manager records each rotation instead."
    )
    description: Annotated[str, Field(min_length=1, max_length=2048)] = Field(
        description="What the secret is, for the rotation policy and the secret's own description."
    )
    secret_name: (
        Annotated[str, matching(_SECRET_NAME, "a Secrets Manager name such as reconciliation/jwt-secret")] | None
    ) = Field(
        None,
        description="Its name in Secrets Manager, unique in the stack; unset, `reconciliation/<stack>/<NAME>`.",
    )
    property: Annotated[str, matching(_PROPERTY, "a JSON property name such as value")] = Field(
        "value", description="The property of the secret's JSON value that holds it."
    )
    import_arn: Annotated[str, matching(_SECRET_ARN, "a Secrets Manager secret ARN")] | None = Field(
        None,
        description="An existing secret to adopt (Pulumi's `import`) instead of creating one: its full ARN, as "
        "`aws secretsmanager describe-secret` prints it, in the stack's region and account, named `secretName`.",
    )


def days_overdue(secret: InventorySecret, today: date) -> int:
    """Days since the secret was due for rotation (0 or less: not due yet)."""
    return (today - secret.last_rotated).days - secret.rotation_days


class Secrets(Model):
    store_name: DnsSubdomain = Field(
        "aws-secrets-manager", description="The SecretStore through which External Secrets reads Secrets Manager."
    )
    reader_service_account: DnsSubdomain = Field(
        "secrets-reader",
        description="The SecretStore's ServiceAccount, whose IAM role may read the secrets; never the backend "
        "pods' own.",
    )
    target_secret_name: DnsSubdomain = Field(
        "reconciliation-secrets", description="The Kubernetes Secret the values are synced into, which the pods read."
    )
    refresh_interval: Annotated[str, AfterValidator(_go_duration)] = Field(
        "1h",
        description="How often External Secrets reads the secrets again; at least `1m`, since each read is a "
        "Secrets Manager call per secret.",
    )
    recovery_window_days: Int32 = Field(
        30,
        ge=7,
        le=30,
        description="Days a deleted secret (and its key) can still be restored; 30 in production.",
    )
    reminder_lead_days: Int32 = Field(
        7, ge=1, description="Days before a secret is due that its reminders start; shorter than every `rotationDays`."
    )
    log_retention_days: RetentionDays = Field(
        365, description="Days the rotation functions' logs are kept, a period CloudWatch Logs offers."
    )
    reminder_emails: Annotated[tuple[Email, ...], each_once("value")] = Field(
        (),
        description="Who receives the rotation reminders (an SNS e-mail subscription, which each recipient "
        "confirms once); production names at least one.",
    )
    inventory: Annotated[tuple[InventorySecret, ...], Field(min_length=1)] = Field(
        description="Every secret the backend reads."
    )

    def secret_name(self, secret: InventorySecret, stack: str) -> str:
        return default_secret_name(secret, stack)

    @property
    def rotated(self) -> list[InventorySecret]:
        """The automatically rotated secrets: each gets a rotation function and a previous value."""
        return [secret for secret in self.inventory if secret.automation == "automated"]


def aws_name(environment: str, purpose: str, secret: InventorySecret | None = None) -> str:
    """The name of an AWS resource of the stack (a role, a function, a schedule, a topic): one
    formula, so the settings can check the lengths AWS allows before anything is registered."""
    suffix = f"-{secret.name.lower().replace('_', '-')}" if secret else ""
    return f"reconciliation-{environment}-{purpose}{suffix}"


def default_secret_name(secret: InventorySecret, stack: str) -> str:
    return secret.secret_name or f"reconciliation/{stack}/{secret.name}"
