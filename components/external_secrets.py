"""Pure builders of the cluster side of the secrets: the reader ServiceAccount (IRSA), the
SecretStore and the ExternalSecret (`external-secrets.io/v1`; `v1beta1` is no longer served by
current External Secrets Operator releases and is never emitted)."""

from __future__ import annotations

from components import aws_policies
from settings.inventory import PREVIOUS_SUFFIX
from settings.stack import StackSettings

API_VERSION = "external-secrets.io/v1"
IRSA_ROLE = "eks.amazonaws.com/role-arn"
# pulumi-kubernetes waits for this condition before the create counts as done, so the Deployment
# (which depends on the ExternalSecret) never rolls out before its Secret exists.
WAIT_FOR = "pulumi.com/waitFor"


def _metadata(settings: StackSettings, name: str, annotations: dict | None = None) -> dict:
    metadata = {"name": name, "namespace": settings.kubernetes.namespace, "labels": settings.labels}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def reader_service_account(settings: StackSettings) -> dict:
    """The only identity with AWS access: External Secrets assumes the reader role through it.
    The backend's own ServiceAccount stays without AWS access and without a token."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(
            settings, settings.secrets.reader_service_account, {IRSA_ROLE: aws_policies.reader_role_arn(settings)}
        ),
        # External Secrets requests its own short-lived token for this account (TokenRequest).
        "automountServiceAccountToken": False,
    }


def secret_store(settings: StackSettings) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "SecretStore",
        "metadata": _metadata(settings, settings.secrets.store_name),
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": settings.aws.region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": settings.secrets.reader_service_account}}},
                }
            }
        },
    }


def external_secret(settings: StackSettings) -> dict:
    secrets = settings.secrets
    return {
        "apiVersion": API_VERSION,
        "kind": "ExternalSecret",
        "metadata": _metadata(settings, secrets.target_secret_name, {WAIT_FOR: "condition=Ready"}),
        "spec": {
            "refreshInterval": secrets.refresh_interval,
            "secretStoreRef": {"name": secrets.store_name, "kind": "SecretStore"},
            "target": {
                "name": secrets.target_secret_name,
                "creationPolicy": "Owner",
                # When a secret disappears from AWS: production keeps the last value in the Secret
                # (running pods keep working); other stacks drop it. (The Secret itself belongs to
                # the ExternalSecret: creationPolicy Owner.)
                "deletionPolicy": "Retain" if settings.production else "Delete",
            },
            "data": [
                {
                    "secretKey": secret.name,
                    "remoteRef": {
                        "key": secrets.secret_name(secret, settings.environment),
                        "property": secret.property,
                    },
                }
                for secret in secrets.inventory
            ],
        },
    }


def previous_secret_name(settings: StackSettings) -> str:
    return f"{settings.secrets.target_secret_name}-previous"


def synced_secret_names(settings: StackSettings) -> list[str]:
    """The Secrets External Secrets writes: the pods restart when either changes (Reloader)."""
    previous = [previous_secret_name(settings)] if settings.secrets.rotated else []
    return [settings.secrets.target_secret_name, *previous]


def previous_external_secret(settings: StackSettings) -> dict | None:
    """The previous version (AWSPREVIOUS) of each automatically rotated secret, so a token signed
    just before a rotation still validates. A Secret of its own: before the first rotation there
    is no previous version, and that must not keep the current values from syncing."""
    secrets = settings.secrets
    rotated = secrets.rotated
    if not rotated:
        return None
    manifest = external_secret(settings)
    manifest["metadata"] = _metadata(settings, previous_secret_name(settings))
    manifest["spec"]["target"]["name"] = previous_secret_name(settings)
    manifest["spec"]["data"] = [
        {
            "secretKey": secret.name + PREVIOUS_SUFFIX,
            "remoteRef": {
                "key": secrets.secret_name(secret, settings.environment),
                "property": secret.property,
                "version": "AWSPREVIOUS",
            },
        }
        for secret in rotated
    ]
    return manifest


def secret_env(settings: StackSettings) -> list[dict]:
    """The container's variables from the synced Secrets: one per inventory entry, and the
    previous value of each automatically rotated one (optional: absent before a rotation)."""
    name = settings.secrets.target_secret_name
    current = [
        {"name": secret.name, "valueFrom": {"secretKeyRef": {"name": name, "key": secret.name}}}
        for secret in settings.secrets.inventory
    ]
    previous = [
        {
            "name": secret.name + PREVIOUS_SUFFIX,
            "valueFrom": {
                "secretKeyRef": {
                    "name": previous_secret_name(settings),
                    "key": secret.name + PREVIOUS_SUFFIX,
                    "optional": True,
                }
            },
        }
        for secret in settings.secrets.rotated
    ]
    return [*current, *previous]
