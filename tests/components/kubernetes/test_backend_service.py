"""The backend component (components/kubernetes/backend_service.py) on the wire: names, selector and
adoption, so prod takes over the running platform's objects without a replace."""

from __future__ import annotations

from helpers import run_changed

from offline.harness import RunResult, run_stack
from settings.stack import StackSettings

PATCH_FORCE = "pulumi.com/patchForce"


def _kubernetes(result: RunResult) -> list:
    return [r for r in result.resources if r.type.startswith("kubernetes:")]


def _backend_objects(result: RunResult) -> list:
    """The objects of the backend component itself (not of its secrets sync)."""
    component = result.one("reconciliation:backend:BackendService")
    return [r for r in _kubernetes(result) if r.parent == component.urn]


def test_every_import_id_is_the_object_it_declares(result: RunResult, settings: StackSettings) -> None:
    # A different name or namespace than the live object's would create a second object, or
    # replace the adopted one: the ID is never written by hand, always derived.
    for resource in _kubernetes(result):
        metadata = resource.inputs["metadata"]
        expected = (
            metadata["name"]
            if resource.inputs["kind"] == "Namespace"
            else f"{metadata['namespace']}/{metadata['name']}"
        )
        adopted = bool(resource.import_id)
        assert resource.import_id == (expected if adopted else "")
        assert (metadata.get("annotations", {}).get(PATCH_FORCE) == "true") is adopted
    assert len([r for r in _kubernetes(result) if r.import_id]) == len(settings.kubernetes.adopt)


def test_no_two_objects_of_one_kind_share_a_name(result: RunResult) -> None:
    keys = [
        (r.inputs["kind"], r.inputs["metadata"].get("namespace"), r.inputs["metadata"]["name"])
        for r in _kubernetes(result)
    ]
    assert len(keys) == len(set(keys))


def test_prod_matches_the_running_platform() -> None:
    result = run_stack("prod")
    names = {r.inputs["kind"]: r.inputs["metadata"]["name"] for r in _backend_objects(result)}
    assert names == {
        "Namespace": "reconciliation-platform",
        "ServiceAccount": "backend",
        "Deployment": "backend",
        "Service": "backend",
        "NetworkPolicy": "backend",
        "HorizontalPodAutoscaler": "backend-hpa",
        "PodDisruptionBudget": "backend-pdb",
        "PodMonitor": "backend",  # new with the Observability issue: created, not adopted
    }
    deployment = result.one("kubernetes:apps/v1:Deployment").inputs
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "backend"}}
    for labels in (deployment["metadata"]["labels"], deployment["spec"]["template"]["metadata"]["labels"]):
        assert labels["app"] == "backend"
        assert labels["app.kubernetes.io/name"] == "backend"
        assert labels["app.kubernetes.io/managed-by"] == "pulumi"
    imports = {r.inputs["kind"]: r.import_id for r in _kubernetes(result) if r.import_id}
    assert imports == {
        "Namespace": "reconciliation-platform",
        "Deployment": "reconciliation-platform/backend",
        "Service": "reconciliation-platform/backend",
        "HorizontalPodAutoscaler": "reconciliation-platform/backend-hpa",
        "PodDisruptionBudget": "reconciliation-platform/backend-pdb",
    }
    namespace = result.one("kubernetes:core/v1:Namespace")
    assert namespace.protect is True  # adopted and still protected in production


def test_dev_keeps_its_derived_names_and_adopts_nothing() -> None:
    result = run_stack("dev")
    assert {r.inputs["metadata"]["name"] for r in _backend_objects(result) if r.inputs["kind"] != "Namespace"} == {
        "reconciliation-backend"
    }
    assert result.one("kubernetes:apps/v1:Deployment").inputs["spec"]["selector"] == {
        "matchLabels": {
            "app.kubernetes.io/name": "reconciliation-backend",
            "app.kubernetes.io/instance": "reconciliation-backend-dev",
        }
    }
    assert not any(r.import_id for r in result.resources if r.type.startswith("kubernetes:"))


def test_after_adoption_the_setting_goes_and_nothing_else_changes() -> None:
    adopted, settled = run_stack("prod"), run_changed("prod", {"kubernetes.adopt": []}).execute()
    assert not any(r.import_id for r in _kubernetes(settled))

    def without_force(resource) -> dict:
        inputs = resource.inputs
        annotations = {k: v for k, v in inputs["metadata"].get("annotations", {}).items() if k != PATCH_FORCE}
        metadata = {k: v for k, v in inputs["metadata"].items() if k != "annotations"}
        return {**inputs, "metadata": {**metadata, **({"annotations": annotations} if annotations else {})}}

    def by_kind(resources: list) -> dict:
        return {(r.inputs["kind"], r.inputs["metadata"]["name"]): r for r in resources}

    assert {k: without_force(r) for k, r in by_kind(_kubernetes(adopted)).items()} == {
        k: r.inputs for k, r in by_kind(_kubernetes(settled)).items()
    }


def test_the_service_never_fights_over_its_allocated_cluster_ip(result: RunResult) -> None:
    # An imported Service's stored inputs hold the live clusterIP; the provider replaces a Service
    # whose clusterIP changes. Ignored on every stack, so adoption and later updates stay in place.
    service = result.one("kubernetes:core/v1:Service")
    assert service.ignore_changes == ["spec.clusterIP", "spec.clusterIPs"]
    assert "clusterIP" not in service.inputs["spec"]
    assert all(not r.ignore_changes for r in _kubernetes(result) if r is not service)


def test_the_service_targets_the_port_number_old_pods_also_have(result: RunResult, settings: StackSettings) -> None:
    # Pods of the plain manifest (and of a rollback) do not name their port: a Service aimed at
    # the name "http" would have no endpoints until every pod is new.
    (port,) = result.one("kubernetes:core/v1:Service").inputs["spec"]["ports"]
    assert port["targetPort"] == settings.backend.port
