"""The cluster side of the secrets on the wire (components/kubernetes/external_secrets.py), as the
kubelet and External Secrets read it: the previous values synced beside the current ones, which
variables may be missing from the synced Secret, and the reader ServiceAccount without a token."""

from __future__ import annotations

from helpers import external_secret

from components.kubernetes import external_secrets
from offline.harness import RunResult
from settings.rules.secrets import PREVIOUS_SUFFIX


def test_automatically_rotated_secrets_also_sync_their_previous_version(result: RunResult, settings) -> None:
    """In the same ExternalSecret as the current values, so one sync writes both: two objects
    refreshing on their own clocks would pair a new key with a stale previous one."""
    data = external_secret(result).inputs["spec"]["data"]
    rotated = [s for s in settings.secrets.inventory if s.automation == "automated"]
    previous = [entry for entry in data if entry["remoteRef"].get("version") == "AWSPREVIOUS"]
    assert [entry["secretKey"] for entry in previous] == [f"{s.name}_PREVIOUS" for s in rotated]
    assert [entry["secretKey"] for entry in data if entry not in previous] == [
        s.name for s in settings.secrets.inventory
    ]
    assert len(result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")) == 1


def _env(result: RunResult) -> dict[str, dict]:
    deployment = result.one("kubernetes:apps/v1:Deployment").inputs
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {variable["name"]: variable for variable in container.get("env", [])}


def test_only_the_previous_values_may_be_missing_from_the_secret(result: RunResult, settings) -> None:
    """core/v1 SecretKeySelector.optional (kubernetes/api core/v1/types.go: "Specify whether the
    Secret or its key must be defined"): a required key the Secret lacks keeps the container in
    CreateContainerConfigError. AWSPREVIOUS exists only after a first rotation, so a fresh stack
    would never start its pods if the previous values were required; a missing current value must
    stop them instead of starting without it."""
    env = _env(result)
    target = settings.secrets.target_secret_name
    for secret in settings.secrets.inventory:
        assert env[secret.name]["valueFrom"] == {"secretKeyRef": {"name": target, "key": secret.name}}
    rotated = [secret.name + PREVIOUS_SUFFIX for secret in settings.secrets.rotated]
    assert rotated  # every stack rotates one secret automatically, or this proves nothing
    for name in rotated:
        assert env[name]["valueFrom"] == {"secretKeyRef": {"name": target, "key": name, "optional": True}}


def test_the_reader_service_account_mounts_no_token(result: RunResult, settings) -> None:
    """External Secrets asks the API for the reader's token itself (a TokenRequest, CreateToken in
    external-secrets providers/v1/aws/auth/token_fetcher.go, pkg/provider/aws/auth/ in older
    releases): no pod needs it mounted, and a pod that ran under the account would carry
    credentials to the AWS role (core/v1 ServiceAccount automountServiceAccountToken)."""
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in result.by_type("kubernetes:core/v1:ServiceAccount")}
    reader = accounts[settings.secrets.reader_service_account]
    assert reader["automountServiceAccountToken"] is False
    assert external_secrets.reader_service_account(settings)["automountServiceAccountToken"] is False


def test_only_production_keeps_the_secret_when_nothing_is_left_to_sync(result: RunResult, settings) -> None:
    """ExternalSecret target.deletionPolicy (external-secrets apis/externalsecrets/v1
    externalsecret_types.go: Delete, Merge, Retain): production merges, other stacks delete."""
    (external,) = result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    policy = external.inputs["spec"]["target"]["deletionPolicy"]
    assert policy == ("Merge" if settings.production else "Delete")
