"""The secrets' sync registered in the cluster (components/kubernetes/secrets_sync.py): read through
the reader only, after the AWS side, and awaited without an object that is never ready."""

from __future__ import annotations

from helpers import external_secret

from components.aws import policies as aws_policies
from offline.harness import RunResult, StackRun
from settings.stack import StackSettings


def test_the_cluster_side_reads_through_the_reader_only(result: RunResult, settings: StackSettings) -> None:
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in result.by_type("kubernetes:core/v1:ServiceAccount")}
    reader = accounts[settings.secrets.reader_service_account]
    assert reader["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": aws_policies.reader_role_arn(settings)}
    store = result.one("kubernetes:external-secrets.io/v1:SecretStore").inputs
    assert store["spec"]["provider"]["aws"]["auth"] == {
        "jwt": {"serviceAccountRef": {"name": settings.secrets.reader_service_account}}
    }
    external = external_secret(result)
    # Synced, not just Ready: External Secrets is Ready with reason SecretDeleted after an empty sync
    # (external-secrets pkg/controllers/externalsecret/externalsecret_controller.go, markAsDone).
    assert external.inputs["metadata"]["annotations"] == {
        "pulumi.com/waitFor": 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}=SecretSynced'
    }
    assert external.inputs["spec"]["refreshInterval"] == settings.secrets.refresh_interval
    deployment = result.one("kubernetes:apps/v1:Deployment")
    assert external.urn in deployment.depends_on  # no rollout before the Secret exists


def test_the_cluster_side_waits_for_the_aws_side(result: RunResult) -> None:
    # Depending on the component means on everything in it (the SDK lists its resources).
    aws_side = {r.urn for r in (result.one("aws:kms/key:Key"), *result.by_type("aws:iam/role:Role"))}
    aws_side |= {r.urn for r in result.by_type("aws:secretsmanager/secret:Secret")}
    for kind in ("SecretStore", "ExternalSecret"):
        for resource in result.by_type(f"kubernetes:external-secrets.io/v1:{kind}"):
            assert aws_side <= set(resource.depends_on)


def test_await_all_in_the_shell_meets_no_object_that_is_never_ready(stack: str) -> None:
    """PULUMI_K8S_AWAIT_ALL=true makes pulumi-kubernetes await every object with its generic
    readiness check (provider/pkg/metadata/overrides.go, ReadyCondition; pulumi.com/skipAwait opts
    one out). The only object that could not become Ready, an ExternalSecret of previous values
    before any rotation, does not exist: the previous values are entries of the one awaited
    ExternalSecret, which External Secrets skips while absent. The program's registrations do not
    depend on the variable."""
    plain = StackRun(stack).execute()
    awaited = StackRun(stack, environ={"PULUMI_K8S_AWAIT_ALL": "true"}).execute()

    def wire(result: RunResult) -> list[tuple[str, str]]:  # markers (<secret>) compare by their text
        return sorted((r.urn, repr(r.inputs)) for r in result.resources)

    assert wire(awaited) == wire(plain)
    (external,) = awaited.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert "pulumi.com/waitFor" in external.inputs["metadata"]["annotations"]
