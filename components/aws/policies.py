"""Pure builders of the IAM and KMS policy documents, as data: unit-testable without Pulumi or
AWS, serialized once by the component. No statement of an identity policy has a bare `*`
resource; a key policy's `*` means "this key", as AWS defines it.
"""

from __future__ import annotations

from settings.aws import InventorySecret, aws_name
from settings.stack import StackSettings

VERSION = "2012-10-17"
# What the account's administrators may do with the key (AWS's own "key administrators" list).
# Not a wall: CreateGrant and PutKeyPolicy let an IAM administrator grant themselves use of it.
KEY_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
# Writing a secret value (an owner's put-secret-value, moving a secret to this key) needs
# GenerateDataKey and Decrypt through Secrets Manager (AWS, "Permissions for the KMS key").
KEY_WRITE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"]
READ_SECRET_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]


def account(settings: StackSettings) -> str:
    """The account the cluster, its OIDC provider and the secrets live in."""
    return settings.aws.oidc_provider.arn.split(":")[4]


def via_secrets_manager(settings: StackSettings) -> dict:
    return {"StringEquals": {"kms:ViaService": f"secretsmanager.{settings.aws.region}.amazonaws.com"}}


def reader_role_name(settings: StackSettings) -> str:
    return aws_name(settings.environment, "secrets-reader")


def reader_role_arn(settings: StackSettings) -> str:
    # Named, so its ARN is known before it exists: the key policy and the ServiceAccount's
    # annotation can say it in a preview.
    return f"arn:aws:iam::{account(settings)}:role/{reader_role_name(settings)}"


def slug(name: str) -> str:
    """An inventory name (JWT_SECRET) as AWS resource names spell it (jwt-secret)."""
    return name.lower().replace("_", "-")


def rotation_function_name(settings: StackSettings, secret: InventorySecret) -> str:
    return aws_name(settings.environment, "rotate", secret)


def rotation_role_arn(settings: StackSettings, secret: InventorySecret) -> str:
    return f"arn:aws:iam::{account(settings)}:role/{rotation_function_name(settings, secret)}"


def rotated(settings: StackSettings) -> list:
    """The inventory's automatically rotated secrets: each gets a rotation function."""
    return settings.secrets.rotated


def secret_arn_pattern(settings: StackSettings, name: str) -> str:
    """The ARN of a secret whatever random suffix Secrets Manager gives it (six characters)."""
    return f"arn:aws:secretsmanager:{settings.aws.region}:{account(settings)}:secret:{name}-??????"


def key_policy(settings: StackSettings) -> dict:
    """The account administers the key. Decrypting is for the reader role and the automated
    secrets' rotation roles, only through Secrets Manager, and for the reminders' scheduler role,
    only through SNS (it publishes to the encrypted topic); the account's IAM policies may let
    writers encrypt through Secrets Manager."""
    root = f"arn:aws:iam::{account(settings)}:root"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": KEY_ADMIN_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "WritersEncryptThroughSecretsManager",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": KEY_WRITE_ACTIONS,
                "Resource": "*",
                "Condition": via_secrets_manager(settings),
            },
            {
                "Sid": "RemindersEncryptThroughSns",
                "Effect": "Allow",
                "Principal": {"AWS": [reminder_role_arn(settings)]},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": via_sns(settings),
            },
            {
                "Sid": "ReaderDecryptsThroughSecretsManager",
                "Effect": "Allow",
                "Principal": {"AWS": [reader_role_arn(settings), *decrypting_rotators(settings)]},
                "Action": ["kms:Decrypt"],
                "Resource": "*",
                "Condition": via_secrets_manager(settings),
            },
        ],
    }


def decrypting_rotators(settings: StackSettings) -> list[str]:
    return [rotation_role_arn(settings, secret) for secret in rotated(settings)]


def lambda_trust_policy() -> dict:
    return {
        "Version": VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }


def rotation_policy(settings: StackSettings, secret: InventorySecret, key_arn: str) -> dict:
    """What the rotation function of one secret may do: that secret's versions, the key through
    Secrets Manager, and its own log group. Nothing else."""
    name = settings.secrets.secret_name(secret, settings.environment)
    log_group = (
        f"arn:aws:logs:{settings.aws.region}:{account(settings)}:log-group:/aws/lambda/"
        f"{rotation_function_name(settings, secret)}"
    )
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "RotateThisSecret",
                "Effect": "Allow",
                "Action": [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                "Resource": [secret_arn_pattern(settings, name)],
            },
            {
                "Sid": "UseTheKeyThroughSecretsManager",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": [key_arn],
                "Condition": via_secrets_manager(settings),
            },
            {
                "Sid": "WriteItsLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"{log_group}:*"],
            },
        ],
    }


def reminder_topic_name(settings: StackSettings) -> str:
    return aws_name(settings.environment, "secret-reminders")


def reminder_topic_arn(settings: StackSettings) -> str:
    return f"arn:aws:sns:{settings.aws.region}:{account(settings)}:{reminder_topic_name(settings)}"


def reminder_role_arn(settings: StackSettings) -> str:
    return f"arn:aws:iam::{account(settings)}:role/{reminder_topic_name(settings)}"


def via_sns(settings: StackSettings) -> dict:
    return {"StringEquals": {"kms:ViaService": f"sns.{settings.aws.region}.amazonaws.com"}}


def scheduler_trust_policy(settings: StackSettings) -> dict:
    """EventBridge Scheduler of this account only."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account(settings)}},
            }
        ],
    }


def reminder_policy(settings: StackSettings, key_arn: str) -> dict:
    """The scheduler may publish to the reminder topic, encrypting with the key through SNS."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "PublishReminders",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [reminder_topic_arn(settings)],
            },
            {
                "Sid": "EncryptThroughSns",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": [key_arn],
                "Condition": via_sns(settings),
            },
        ],
    }


def reader_trust_policy(settings: StackSettings) -> dict:
    """Only the stack's reader ServiceAccount, through the cluster's OIDC provider, for STS."""
    issuer = settings.aws.oidc_provider.issuer
    subject = f"system:serviceaccount:{settings.kubernetes.namespace}:{settings.secrets.reader_service_account}"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": settings.aws.oidc_provider.arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{issuer}:sub": subject, f"{issuer}:aud": "sts.amazonaws.com"}},
            }
        ],
    }


def read_secrets_policy(settings: StackSettings) -> dict:
    names = [settings.secrets.secret_name(secret, settings.environment) for secret in settings.secrets.inventory]
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadTheInventory",
                "Effect": "Allow",
                "Action": READ_SECRET_ACTIONS,
                "Resource": [secret_arn_pattern(settings, name) for name in names],
            }
        ],
    }


def decrypt_policy(settings: StackSettings, key_arn: str) -> dict:
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "DecryptTheInventoryKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": [key_arn],
                "Condition": via_secrets_manager(settings),
            }
        ],
    }
