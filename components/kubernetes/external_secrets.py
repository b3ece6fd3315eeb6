"""Pure builders of the cluster side of the secrets: the reader ServiceAccount (IRSA), the
SecretStore and the ExternalSecret (`external-secrets.io/v1`; `v1beta1` is no longer served by
current External Secrets Operator releases and is never emitted)."""

from __future__ import annotations

from components.aws import policies as aws_policies
from settings.rules.secrets import PREVIOUS_SUFFIX
from settings.stack import StackSettings

API_VERSION = "external-secrets.io/v1"
IRSA_ROLE = "eks.amazonaws.com/role-arn"
# pulumi-kubernetes waits for this before the create or update counts as done, and the Deployment
# depends on the ExternalSecret. `condition=Ready` is not enough: External Secrets sets Ready=True
# with reason SecretDeleted when it synced nothing under deletionPolicy Delete (external-secrets
# pkg/controllers/externalsecret/externalsecret_controller.go, Reconcile, `len(dataMap) == 0` ->
# markAsDone). Only reason SecretSynced means the Secret was written (markAsDone is always
# Ready=True). The JSONPath form is parsed by pulumi-kubernetes provider/pkg/jsonpath/jsonpath.go.
WAIT_FOR = "pulumi.com/waitFor"
SYNCED = 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}=SecretSynced'


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
        "metadata": _metadata(settings, secrets.target_secret_name, {WAIT_FOR: SYNCED}),
        "spec": {
            "refreshInterval": secrets.refresh_interval,
            "secretStoreRef": {"name": secrets.store_name, "kind": "SecretStore"},
            "target": {
                "name": secrets.target_secret_name,
                "creationPolicy": "Owner",
                # An entry whose AWS secret or version is missing is skipped under Delete and Merge,
                # and fails the whole sync under Retain (externalsecret_controller_secret.go,
                # GetProviderSecretData: NoSecretErr and DeletionPolicy != Retain -> continue). The
                # previous values exist only after a first rotation, so Retain would stop every
                # sync until then. Production merges: a key whose secret disappears from AWS is
                # removed, the Secret and its other keys stay (running pods keep their values);
                # other stacks delete the Secret when nothing is left to sync.
                "deletionPolicy": "Merge" if settings.production else "Delete",
            },
            # Current and previous values in one object, so one sync writes both: two objects
            # refreshing on their own clocks would leave pods with the new key and a stale
            # previous one, rejecting tokens signed minutes before a rotation.
            "data": [
                *(
                    {
                        "secretKey": secret.name,
                        "remoteRef": {
                            "key": secrets.secret_name(secret, settings.environment),
                            "property": secret.property,
                        },
                    }
                    for secret in secrets.inventory
                ),
                *(
                    {
                        "secretKey": secret.name + PREVIOUS_SUFFIX,
                        "remoteRef": {
                            "key": secrets.secret_name(secret, settings.environment),
                            "property": secret.property,
                            "version": "AWSPREVIOUS",
                        },
                    }
                    for secret in secrets.rotated
                ),
            ],
        },
    }


def synced_secret_names(settings: StackSettings) -> list[str]:
    """The Secrets External Secrets writes: the pods restart when one changes (Reloader)."""
    return [settings.secrets.target_secret_name]


def secret_env(settings: StackSettings) -> list[dict]:
    """The container's variables from the synced Secret: one per inventory entry, and the
    previous value of each automatically rotated one (optional: absent before a first rotation)."""
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
                    "name": name,
                    "key": secret.name + PREVIOUS_SUFFIX,
                    "optional": True,
                }
            },
        }
        for secret in settings.secrets.rotated
    ]
    return [*current, *previous]
