"""Names, selector and adoption: prod takes over the running platform's objects without a replace."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers import problems, run_changed

from adoption import preflight
from offline import render
from offline.harness import ROOT, RunResult, run_stack
from settings.stack import StackSettings

NS = "reconciliation-platform"
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


REFUSED = {
    "a selector on the release version": (
        {"backend.selector": {"app.kubernetes.io/version": "1.4.2"}},
        f'{NS}:backend.selector["app.kubernetes.io/version"] = "1.4.2": app.kubernetes.io/version changes with '
        "every release, and a Deployment's selector can never change",
    ),
    "a selector that contradicts a recommended label": (
        {"backend.selector": {"app.kubernetes.io/name": "api"}},
        f'{NS}:backend.selector["app.kubernetes.io/name"] = "api": the pods also carry app.kubernetes.io/name: '
        "backend (from backend.name and environment); they must agree",
    ),
    "a malformed label key": (
        {"backend.selector": {"-app": "backend"}},
        f'{NS}:backend.selector.-app = "-app": expected a label key such as app or app.kubernetes.io/name',
    ),
    "a malformed label value": (
        {"backend.selector": {"app": "back end"}},
        f'{NS}:backend.selector.app = "back end": expected a label value: at most 63 letters, digits, '
        "'-', '_' or '.'",
    ),
    "an empty selector": (
        {"backend.selector": {}},
        f"{NS}:backend.selector = {{}}: Dictionary should have at least 1 item after validation, not 0",
    ),
    "a Service name that is no DNS label": (
        {"backend.names": {"service": "Backend_API"}},
        f'{NS}:backend.names.service = "Backend_API": expected an RFC 1035 name: a lower-case letter, then letters, '
        "digits or '-', 1-63 chars",
    ),
    "adopting a namespace the stack does not declare": (
        {"kubernetes.createNamespace": False},
        f'{NS}:kubernetes.adopt = ["namespace", "deployment", "service", "horizontalPodAutoscaler", '
        '"podDisruptionBudget"]: adopting the Namespace needs createNamespace: true (otherwise the program does not '
        "declare it)",
    ),
    "adopting one object twice": (
        {"kubernetes.adopt": ["deployment", "deployment"]},
        f'{NS}:kubernetes.adopt = ["deployment", "deployment"]: each object may appear once, got deployment, '
        "deployment",
    ),
    "adopting something the stack does not have": (
        {"kubernetes.adopt": ["ingress"]},
        f"{NS}:kubernetes.adopt[0] = \"ingress\": Input should be 'namespace', 'serviceAccount', 'deployment', "
        "'service', 'networkPolicy', 'horizontalPodAutoscaler' or 'podDisruptionBudget'",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(case: str) -> None:
    changes, expected = REFUSED[case]
    assert problems(run_changed("prod", changes)) == [expected]


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


RUNBOOK = ROOT / "docs" / "runbooks" / "adopt-running-platform.md"


@pytest.fixture(scope="module")
def prod_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prod render as `./tasks.sh render prod` writes it: what the runbook's pre-flight reads."""
    out = tmp_path_factory.mktemp("render") / "prod"
    render.write(run_stack("prod"), out)
    return out


def _rendered_kinds(folder: Path) -> set[str]:
    return {yaml.safe_load(path.read_text())["kind"] for path in (folder / "kubernetes").glob("*.yaml")}


def test_the_runbook_names_every_kind_the_prod_render_lists(prod_render: Path) -> None:
    # A kind the program starts to create (the PodMonitor, the secrets sync's SecretStore and
    # ExternalSecret) is one more object that fails the `up` with AlreadyExists if it already runs:
    # the runbook must say so the day it appears in the render.
    text = RUNBOOK.read_text(encoding="utf-8")
    kinds = _rendered_kinds(prod_render)
    assert {"ServiceAccount", "PodMonitor", "SecretStore", "ExternalSecret", "Deployment"} <= kinds
    # As a word: "Service" inside "ServiceAccount" does not count.
    assert sorted(kind for kind in kinds if not re.search(rf"\b{kind}\b", text)) == []
    # The pre-flight reads the render, so its list cannot go stale either.
    assert "python -m adoption.preflight" in text
    assert "--cascade=orphan" in text
    assert "ownerReferences" in text


def _kubectl_answering(live: set[tuple[str, str]], fail: set[str] = frozenset()) -> tuple[list, object]:
    """A kubectl that knows ``live`` ((resource, name) pairs) and fails for resources in ``fail``;
    asked for YAML, it answers a document naming the object."""
    asked = []

    def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
        asked.append(args)
        resource, name = args[args.index("get") + 1].split("/")
        if resource in fail:
            return subprocess.CompletedProcess(
                args, 1, "", f'error: the server doesn\'t have a resource type "{resource}"\n'
            )
        shown = f"kind: {resource}\nmetadata: {{name: {name}}}\n" if "yaml" in args else f"{resource}/{name}\n"
        found = shown if (resource, name) in live else ""
        return subprocess.CompletedProcess(args, 0, found, "")

    return asked, run


def test_the_preflight_asks_about_every_object_of_the_render(prod_render: Path) -> None:
    items = preflight.objects(prod_render)
    rendered = {
        (manifest["kind"], manifest["metadata"].get("namespace"), manifest["metadata"]["name"])
        for manifest in (yaml.safe_load(p.read_text()) for p in (prod_render / "kubernetes").glob("*.yaml"))
    }
    assert {(i.kind, i.namespace, i.name) for i in items} == rendered
    asked, run = _kubectl_answering({(i.resource, i.name) for i in items if i.import_id})
    lines, ok = preflight.check(items, "reconciliation-prod", run)
    assert ok  # only the adopted objects live: every other one is created
    assert len(asked) == len(items)
    assert all(args[:3] == ["kubectl", "--context", "reconciliation-prod"] for args in asked)
    assert asked[[i.name for i in items].index("reconciliation-secrets")][3:7] == [
        "-n",
        NS,
        "get",
        "externalsecret.v1.external-secrets.io/reconciliation-secrets",
    ]
    assert sorted(line.split()[0] for line in lines) == sorted("adopt" if i.import_id else "create" for i in items)


def test_the_preflight_says_what_to_do_with_each_object_that_already_exists(prod_render: Path) -> None:
    items = {(i.kind, i.name): i for i in preflight.objects(prod_render)}
    # The proposal's SecretStore and ExternalSecret, a hand-made ServiceAccount and PodMonitor
    # already run; the HPA, though adopted, does not.
    exists = [("SecretStore", "aws-secrets-manager"), ("ExternalSecret", "reconciliation-secrets")]
    exists += [("ServiceAccount", "backend"), ("PodMonitor", "backend")]
    live = {(i.resource, i.name) for key, i in items.items() if key in exists or i.import_id}
    live.discard((items["HorizontalPodAutoscaler", "backend-hpa"].resource, "backend-hpa"))
    lines, ok = preflight.check(list(items.values()), None, _kubectl_answering(live)[1])
    assert not ok
    report = {" ".join(line.split()[1:3]).rstrip(":"): line for line in lines}
    assert report[f"ServiceAccount {NS}/backend"].startswith("EXISTS")
    assert "add serviceAccount to kubernetes.adopt" in report[f"ServiceAccount {NS}/backend"]
    assert "delete or rename it" in report[f"PodMonitor {NS}/backend"]
    assert "delete or rename it" in report[f"SecretStore {NS}/aws-secrets-manager"]
    assert "ownerReferences" in report[f"ExternalSecret {NS}/reconciliation-secrets"]
    assert (
        "delete externalsecret/reconciliation-secrets --cascade=orphan"
        in report[f"ExternalSecret {NS}/reconciliation-secrets"]
    )
    assert report[f"HorizontalPodAutoscaler {NS}/backend-hpa"].startswith("MISSING")
    assert "remove horizontalPodAutoscaler from kubernetes.adopt" in report[f"HorizontalPodAutoscaler {NS}/backend-hpa"]
    assert report[f"Deployment {NS}/backend"].startswith("adopt")
    assert report[f"ServiceAccount {NS}/secrets-reader"].startswith("create")


def test_the_preflight_reports_a_resource_type_the_cluster_lacks(prod_render: Path, capsys) -> None:
    items = preflight.objects(prod_render)
    monitor = next(i for i in items if i.kind == "PodMonitor")
    _, run = _kubectl_answering({(i.resource, i.name) for i in items if i.import_id}, fail={monitor.resource})
    assert preflight.main(["--render", str(prod_render)], run=run) == 1
    out = capsys.readouterr().out
    assert f"ERROR    PodMonitor {monitor.key}: error: the server doesn't have a resource type" in out
    assert preflight.main(["--render", str(prod_render), "--print"], run=None) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(items)
    assert f"kubectl -n {NS} get podmonitor.v1.monitoring.coreos.com/backend --ignore-not-found -o name" in printed


def test_the_preflight_exports_what_is_live_for_compare(prod_render: Path, tmp_path: Path) -> None:
    items = preflight.objects(prod_render)
    adopted = [i for i in items if i.import_id]
    asked, run = _kubectl_answering({(i.resource, i.name) for i in adopted})
    _, ok = preflight.check(items, None, run, export=tmp_path / "live")
    assert ok
    assert all(args[-3:] == ["-o", "yaml", "--show-managed-fields"] for args in asked)
    written = sorted(p.name for p in (tmp_path / "live").iterdir())
    assert written == sorted(f"{i.kind.lower()}-{i.key.replace('/', '-')}.yaml" for i in adopted)
