"""Pure builders, without Pulumi: manifests straight from settings."""

from __future__ import annotations

import pytest
from helpers import validated

from components.kubernetes import manifests, pod
from offline.harness import PROJECT, stack_document
from settings.objects import KINDS
from settings.stack import StackSettings

BUILDERS = (
    (manifests.namespace, "v1", "Namespace"),
    (manifests.service_account, "v1", "ServiceAccount"),
    (manifests.deployment, "apps/v1", "Deployment"),
    (manifests.service, "v1", "Service"),
    (manifests.network_policy, "networking.k8s.io/v1", "NetworkPolicy"),
    (manifests.horizontal_pod_autoscaler, "autoscaling/v2", "HorizontalPodAutoscaler"),
    (manifests.pod_disruption_budget, "policy/v1", "PodDisruptionBudget"),
)
KEY_OF = {kind: key for key, kind in KINDS.items()}


def _settings(stack: str, changes: dict | None = None) -> StackSettings:
    settings, problems = validated(stack, changes)
    assert problems == []
    return settings


@pytest.mark.parametrize(("builder", "api_version", "kind"), BUILDERS, ids=lambda b: getattr(b, "__name__", b))
def test_every_builder_returns_a_complete_manifest(builder, api_version: str, kind: str, stack: str) -> None:
    settings = _settings(stack)
    manifest = builder(settings)
    assert (manifest["apiVersion"], manifest["kind"]) == (api_version, kind)
    if kind == "Namespace":
        assert manifest["metadata"]["name"] == settings.kubernetes.namespace
    else:
        assert manifest["metadata"]["name"] == settings.object_name(KEY_OF[kind])
        assert manifest["metadata"]["namespace"] == settings.kubernetes.namespace
        assert manifest["metadata"]["labels"] == manifests.labels(settings)
    assert set(manifest) - {"apiVersion", "kind", "metadata"} == (
        {"automountServiceAccountToken"} if kind == "ServiceAccount" else {"spec"} if kind != "Namespace" else set()
    )


def test_selector_is_a_stable_subset_of_the_labels() -> None:
    tag = stack_document("prod")[f"{PROJECT}:backend"]["image"]["tag"]  # as the file says
    release = f"{tag}-next"
    before, after = _settings("prod"), _settings("prod", {"backend.image.tag": release})
    assert manifests.selector(before) == manifests.selector(after)  # a release never changes the selector
    assert manifests.labels(before)["app.kubernetes.io/version"] == tag
    assert manifests.labels(after)["app.kubernetes.io/version"] == release
    assert manifests.selector(before).items() <= manifests.labels(before).items()


def test_no_spread_constraints_when_none_are_set() -> None:
    settings = _settings("dev", {"backend.topologySpread": []})
    assert "topologySpreadConstraints" not in manifests.deployment(settings)["spec"]["template"]["spec"]


def test_prestop_hook_is_omitted_when_sleep_is_zero() -> None:
    settings = _settings("dev", {"backend.termination.preStopSleepSeconds": 0})
    assert "lifecycle" not in pod.container(settings)


def test_without_plain_env_only_the_secrets_are_in_the_environment() -> None:
    env = pod.container(_settings("dev", {"backend.env": {}}))["env"]
    # The inventory's names in order, then each automated secret's previous value, from the parsed file.
    inventory = stack_document("dev")[f"{PROJECT}:secrets"]["inventory"]
    automated = [entry["name"] for entry in inventory if entry["automation"] == "automated"]
    previous = [f"{name}_PREVIOUS" for name in automated]
    assert previous  # dev rotates at least one secret automatically, or the checks below prove nothing
    assert [variable["name"] for variable in env] == [entry["name"] for entry in inventory] + previous
    # The previous value exists only after a first rotation: optional, in the one synced Secret.
    for variable in env[len(inventory) :]:
        assert variable["valueFrom"]["secretKeyRef"] == {
            "name": "reconciliation-secrets",  # the program's default (settings.aws target_secret_name)
            "key": variable["name"],
            "optional": True,
        }
    assert all("value" not in variable for variable in env)  # never a secret value in a manifest


def test_scrape_annotations_can_be_turned_off() -> None:
    settings = _settings("dev", {"backend.metrics": {"scrape": False}})
    assert "annotations" not in manifests.deployment(settings)["spec"]["template"]["metadata"]


def test_checkov_skips_follow_the_image_pinning() -> None:
    tagged = _settings("prod")
    assert [s.split("=")[0] for s in manifests.checkov_skips(tagged, "Deployment")] == ["CKV_K8S_43", "CKV_K8S_35"]
    digest = {"backend.image.digest": "sha256:" + "1" * 64}
    assert [s.split("=")[0] for s in manifests.checkov_skips(_settings("prod", digest), "Deployment")] == ["CKV_K8S_35"]
    cached = _settings("prod", {**digest, "backend.image.pullPolicy": "IfNotPresent"})
    assert [s.split("=")[0] for s in manifests.checkov_skips(cached, "Deployment")] == ["CKV_K8S_15", "CKV_K8S_35"]
    assert manifests.checkov_skips(tagged, "Service") == []
    annotations = manifests.deployment(_settings("dev"))["metadata"]["annotations"]
    skips = manifests.checkov_skips(tagged, "Deployment")
    assert annotations == {
        "checkov.io/skip1": skips[0],
        "checkov.io/skip2": skips[1],
        # The one synced Secret: a rotation changes the current and the previous value in one sync.
        "secret.reloader.stakater.com/reload": "reconciliation-secrets",
    }


def test_budget_carries_only_the_field_that_is_set() -> None:
    spec = manifests.pod_disruption_budget(_settings("dev"))["spec"]
    assert spec["maxUnavailable"] == stack_document("dev")[f"{PROJECT}:backend"]["disruptionBudget"]["maxUnavailable"]
    assert "minAvailable" not in spec


def test_image_pull_secrets_reach_the_pod_only_when_set() -> None:
    settings = _settings("prod", {"backend.image.pullSecrets": ["ghcr-credentials", "mirror.example.com"]})
    spec = manifests.deployment(settings)["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "ghcr-credentials"}, {"name": "mirror.example.com"}]
    assert "imagePullSecrets" not in manifests.deployment(_settings("prod"))["spec"]["template"]["spec"]
