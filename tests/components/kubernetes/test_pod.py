"""The pod template's pure builder (components/kubernetes/pod.py): spread, preStop, environment,
scrape annotations, pull secrets, and the probes in the API's field names."""

from __future__ import annotations

from helpers import valid_settings

from components.kubernetes import manifests, pod
from offline.harness import PROJECT, stack_document
from settings.stack import StackSettings


def test_no_spread_constraints_when_none_are_set() -> None:
    settings = valid_settings("dev", {"backend.topologySpread": []})
    assert "topologySpreadConstraints" not in manifests.deployment(settings)["spec"]["template"]["spec"]


def test_prestop_hook_is_omitted_when_sleep_is_zero() -> None:
    settings = valid_settings("dev", {"backend.termination.preStopSleepSeconds": 0})
    assert "lifecycle" not in pod.container(settings)


def test_without_plain_env_only_the_secrets_are_in_the_environment() -> None:
    env = pod.container(valid_settings("dev", {"backend.env": {}}))["env"]
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
    settings = valid_settings("dev", {"backend.metrics": {"scrape": False}})
    assert "annotations" not in manifests.deployment(settings)["spec"]["template"]["metadata"]


def test_image_pull_secrets_reach_the_pod_only_when_set() -> None:
    settings = valid_settings("prod", {"backend.image.pullSecrets": ["ghcr-credentials", "mirror.example.com"]})
    spec = manifests.deployment(settings)["spec"]["template"]["spec"]
    assert spec["imagePullSecrets"] == [{"name": "ghcr-credentials"}, {"name": "mirror.example.com"}]
    assert "imagePullSecrets" not in manifests.deployment(valid_settings("prod"))["spec"]["template"]["spec"]


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
