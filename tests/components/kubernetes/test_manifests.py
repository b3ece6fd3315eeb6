"""Pure builders, without Pulumi (components/kubernetes/manifests.py): manifests straight from
settings, with the field names and switches as the Kubernetes API reads them: the autoscaler's
behaviour in the API's camelCase, the ServiceAccount without a token, checkov's skips and
Reloader's annotation on the Deployment alone, patchForce exactly on what a stack adopts."""

from __future__ import annotations

import json

import pytest
from helpers import valid_settings

from components.kubernetes import manifests
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


@pytest.mark.parametrize(("builder", "api_version", "kind"), BUILDERS, ids=lambda b: getattr(b, "__name__", b))
def test_every_builder_returns_a_complete_manifest(builder, api_version: str, kind: str, stack: str) -> None:
    settings = valid_settings(stack)
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
    before, after = valid_settings("prod"), valid_settings("prod", {"backend.image.tag": release})
    assert manifests.selector(before) == manifests.selector(after)  # a release never changes the selector
    assert manifests.labels(before)["app.kubernetes.io/version"] == tag
    assert manifests.labels(after)["app.kubernetes.io/version"] == release
    assert manifests.selector(before).items() <= manifests.labels(before).items()


def test_checkov_skips_follow_the_image_pinning() -> None:
    tagged = valid_settings("prod")
    assert [s.split("=")[0] for s in manifests.checkov_skips(tagged, "Deployment")] == ["CKV_K8S_43", "CKV_K8S_35"]
    digest = {"backend.image.digest": "sha256:" + "1" * 64}
    assert [s.split("=")[0] for s in manifests.checkov_skips(valid_settings("prod", digest), "Deployment")] == [
        "CKV_K8S_35"
    ]
    cached = valid_settings("prod", {**digest, "backend.image.pullPolicy": "IfNotPresent"})
    assert [s.split("=")[0] for s in manifests.checkov_skips(cached, "Deployment")] == ["CKV_K8S_15", "CKV_K8S_35"]
    assert manifests.checkov_skips(tagged, "Service") == []
    annotations = manifests.deployment(valid_settings("dev"))["metadata"]["annotations"]
    skips = manifests.checkov_skips(tagged, "Deployment")
    assert annotations == {
        "checkov.io/skip1": skips[0],
        "checkov.io/skip2": skips[1],
        # The one synced Secret: a rotation changes the current and the previous value in one sync.
        "secret.reloader.stakater.com/reload": "reconciliation-secrets",
    }


def test_budget_carries_only_the_field_that_is_set() -> None:
    spec = manifests.pod_disruption_budget(valid_settings("dev"))["spec"]
    assert spec["maxUnavailable"] == stack_document("dev")[f"{PROJECT}:backend"]["disruptionBudget"]["maxUnavailable"]
    assert "minAvailable" not in spec


# Every namespaced object the program builds, by its settings key (the Namespace has no _metadata).
NAMESPACED = {
    "serviceAccount": manifests.service_account,
    "deployment": manifests.deployment,
    "service": manifests.service,
    "networkPolicy": manifests.network_policy,
    "horizontalPodAutoscaler": manifests.horizontal_pod_autoscaler,
    "podDisruptionBudget": manifests.pod_disruption_budget,
}
DIGEST = "sha256:" + "1" * 64


def test_the_autoscaler_behaviour_is_in_the_apis_field_names(settings: StackSettings) -> None:
    """autoscaling/v2 HorizontalPodAutoscalerBehavior is `scaleUp`/`scaleDown`, HPAScalingRules
    `stabilizationWindowSeconds`/`selectPolicy`/`policies`, HPAScalingPolicy `type`/`value`/
    `periodSeconds` (kubernetes/api autoscaling/v2/types.go, json tags). The API server drops a
    field it does not know (scale_up): the cluster's defaults would scale instead of the stack's."""
    behavior = manifests.horizontal_pod_autoscaler(settings)["spec"]["behavior"]
    wanted = settings.backend.autoscaling.behavior
    assert set(behavior) == {"scaleUp", "scaleDown"}
    for key, rules in (("scaleUp", wanted.scale_up), ("scaleDown", wanted.scale_down)):
        assert behavior[key] == {
            "stabilizationWindowSeconds": rules.stabilization_window_seconds,
            "selectPolicy": rules.select_policy,
            "policies": [
                {"type": policy.type, "value": policy.value, "periodSeconds": policy.period_seconds}
                for policy in rules.policies
            ],
        }


def test_the_backends_service_account_mounts_no_token(settings: StackSettings) -> None:
    """core/v1 ServiceAccount.automountServiceAccountToken (kubernetes/api core/v1/types.go): False
    keeps the API token out of every pod of the account; the pod template says so too."""
    assert manifests.service_account(settings)["automountServiceAccountToken"] is False
    assert manifests.deployment(settings)["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("kind", sorted({*KINDS.values(), "ConfigMap", "CronJob", "Job", "Secret"} - {"Deployment"}))
def test_checkov_skips_concern_the_deployment_alone(kind: str) -> None:
    """Kinds sorting before and after "Deployment" alike: a skip on another kind would silence a
    check that does apply to it (checkov reads `checkov.io/skip<n>` from each object's annotations)."""
    for changes in ({}, {"backend.image.digest": DIGEST, "backend.image.pullPolicy": "IfNotPresent"}):
        settings = valid_settings("prod", changes)
        assert manifests.checkov_skips(settings, kind) == []
        assert manifests.checkov_skips(settings, "Deployment")  # the Deployment's are there


def test_checkov_skips_of_a_kind_read_back_from_a_rendered_manifest() -> None:
    """The kind as a reader of the rendered JSON holds it (the policy pack, a render's files): an
    equal string, not the same object, still gets the Deployment's skips."""
    settings = valid_settings("prod")
    kind = json.loads(json.dumps(manifests.deployment(settings)))["kind"]
    assert manifests.checkov_skips(settings, kind) == manifests.checkov_skips(settings, KINDS["deployment"])
    assert manifests.checkov_skips(settings, kind)


def test_only_the_deployment_is_rolled_by_reloader(settings: StackSettings) -> None:
    """Stakater Reloader acts on the workload that carries secret.reloader.stakater.com/reload; on a
    Service or an autoscaler it means nothing, and no checkov skip belongs there either."""
    for key, builder in NAMESPACED.items():
        annotations = builder(settings)["metadata"].get("annotations", {})
        if KINDS[key] == "Deployment":
            assert annotations[manifests.RELOAD] == settings.secrets.target_secret_name
        else:
            assert manifests.RELOAD not in annotations, key
            assert not [name for name in annotations if name.startswith("checkov.io/")], key


@pytest.mark.parametrize("adopted", [True, False], ids=["adopted", "created"])
def test_patch_force_marks_exactly_what_the_stack_adopts(adopted: bool, stack: str) -> None:
    """pulumi-kubernetes' `pulumi.com/patchForce` annotation takes over fields another manager
    (kubectl) applied: only on an adopted object, never on one this program creates (it would
    silently overwrite another controller's fields)."""
    keys = ["namespace", *NAMESPACED] if adopted else []
    changed = valid_settings(stack, {"kubernetes.adopt": keys})
    assert set(changed.kubernetes.adopt) == set(keys)
    namespace = manifests.namespace(changed)["metadata"]
    if adopted:
        assert namespace["annotations"] == {manifests.PATCH_FORCE: "true"}
    else:
        assert "annotations" not in namespace
    for key, builder in NAMESPACED.items():
        annotations = builder(changed)["metadata"].get("annotations", {})
        assert (annotations.get(manifests.PATCH_FORCE) == "true") is adopted, key
