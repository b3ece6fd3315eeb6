"""Pure builders, without Pulumi: manifests straight from settings."""

from __future__ import annotations

import pytest
from helpers import changed

from components import manifests, pod
from offline.harness import PROJECT
from settings.report import validate
from settings.stack import StackSettings

BUILDERS = (
    manifests.namespace,
    manifests.service_account,
    manifests.deployment,
    manifests.service,
    manifests.network_policy,
    manifests.horizontal_pod_autoscaler,
    manifests.pod_disruption_budget,
)


def _settings(stack: str, changes: dict | None = None) -> StackSettings:
    document = changed(stack, changes or {})
    settings, problems = validate({k.removeprefix(f"{PROJECT}:"): v for k, v in document.items()}, set(), PROJECT)
    assert problems == []
    return settings


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_every_builder_returns_a_complete_manifest(builder, stack: str) -> None:
    manifest = builder(_settings(stack))
    assert {"apiVersion", "kind", "metadata"} <= set(manifest)
    assert manifest["metadata"]["name"]


def test_selector_is_a_stable_subset_of_the_labels() -> None:
    before, after = _settings("prod"), _settings("prod", {"backend.image.tag": "2.0.0"})
    assert manifests.selector(before) == manifests.selector(after)  # a release never changes the selector
    assert manifests.labels(before)["app.kubernetes.io/version"] == "1.4.2"
    assert manifests.labels(after)["app.kubernetes.io/version"] == "2.0.0"
    assert manifests.selector(before).items() <= manifests.labels(before).items()


def test_no_spread_constraints_when_none_are_set() -> None:
    settings = _settings("dev", {"backend.topologySpread": []})
    assert "topologySpreadConstraints" not in manifests.deployment(settings)["spec"]["template"]["spec"]


def test_prestop_hook_is_omitted_when_sleep_is_zero() -> None:
    settings = _settings("dev", {"backend.termination.preStopSleepSeconds": 0})
    assert "lifecycle" not in pod.container(settings)


def test_no_env_key_when_there_is_no_env() -> None:
    assert "env" not in pod.container(_settings("dev", {"backend.env": {}}))


def test_scrape_annotations_can_be_turned_off() -> None:
    settings = _settings("dev", {"backend.metrics": {"scrape": False}})
    assert "annotations" not in manifests.deployment(settings)["spec"]["template"]["metadata"]


def test_checkov_skips_follow_the_image_pinning() -> None:
    tagged = _settings("prod")
    assert [s.split("=")[0] for s in manifests.checkov_skips(tagged, "Deployment")] == ["CKV_K8S_43"]
    digest = {"backend.image.digest": "sha256:" + "1" * 64}
    assert manifests.checkov_skips(_settings("prod", digest), "Deployment") == []
    cached = _settings("prod", {**digest, "backend.image.pullPolicy": "IfNotPresent"})
    assert [s.split("=")[0] for s in manifests.checkov_skips(cached, "Deployment")] == ["CKV_K8S_15"]
    assert manifests.checkov_skips(tagged, "Service") == []
    annotations = manifests.deployment(tagged)["metadata"]["annotations"]
    assert annotations == {"checkov.io/skip1": manifests.checkov_skips(tagged, "Deployment")[0]}


def test_budget_carries_only_the_field_that_is_set() -> None:
    spec = manifests.pod_disruption_budget(_settings("dev"))["spec"]
    assert spec["maxUnavailable"] == 1
    assert "minAvailable" not in spec
