"""The manifests' field names and switches as the Kubernetes API reads them, from the parsed
settings: the autoscaler's behaviour in the API's camelCase, the ServiceAccount without a token,
checkov's skips and Reloader's annotation on the Deployment alone, patchForce exactly on what a
stack adopts."""

from __future__ import annotations

import json

import pytest
from helpers import validated

from components.kubernetes import manifests, pod
from settings.objects import KINDS
from settings.stack import StackSettings

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


def _settings(stack: str, changes: dict | None = None) -> StackSettings:
    settings, problems = validated(stack, changes)
    assert problems == []
    return settings


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
        settings = _settings("prod", changes)
        assert manifests.checkov_skips(settings, kind) == []
        assert manifests.checkov_skips(settings, "Deployment")  # the Deployment's are there


def test_checkov_skips_of_a_kind_read_back_from_a_rendered_manifest() -> None:
    """The kind as a reader of the rendered JSON holds it (the policy pack, a render's files): an
    equal string, not the same object, still gets the Deployment's skips."""
    settings = _settings("prod")
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
    changed = _settings(stack, {"kubernetes.adopt": keys})
    assert set(changed.kubernetes.adopt) == set(keys)
    namespace = manifests.namespace(changed)["metadata"]
    if adopted:
        assert namespace["annotations"] == {manifests.PATCH_FORCE: "true"}
    else:
        assert "annotations" not in namespace
    for key, builder in NAMESPACED.items():
        annotations = builder(changed)["metadata"].get("annotations", {})
        assert (annotations.get(manifests.PATCH_FORCE) == "true") is adopted, key


def test_the_probes_are_in_the_apis_field_names(settings: StackSettings) -> None:
    """core/v1 Probe is `initialDelaySeconds`/`periodSeconds`/`timeoutSeconds`/`failureThreshold`
    beside its `httpGet` handler (kubernetes/api core/v1/types.go, json tags): a snake_case key is
    dropped by the API server, and the kubelet would probe on its defaults (every 10 s, 3 failures)."""
    container = pod.container(settings)
    probes = settings.backend.probes
    for key, probe in (
        ("startupProbe", probes.startup),
        ("readinessProbe", probes.readiness),
        ("livenessProbe", probes.liveness),
    ):
        assert container[key] == {
            "httpGet": {"path": probes.path, "port": pod.PORT_NAME},
            "initialDelaySeconds": probe.initial_delay_seconds,
            "periodSeconds": probe.period_seconds,
            "timeoutSeconds": probe.timeout_seconds,
            "failureThreshold": probe.failure_threshold,
        }, key
