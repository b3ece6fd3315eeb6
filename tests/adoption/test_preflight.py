"""The adoption runbook's pre-flight (adoption/preflight.py) over prod's render: it asks about every
object, says what to do with each one that already exists, and the runbook names every kind."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Set
from pathlib import Path

import pytest

from adoption import preflight
from offline import render
from offline.harness import ROOT, run_stack
from offline.yaml_reader import load_yaml

NS = "reconciliation-platform"


RUNBOOK = ROOT / "docs" / "runbooks" / "adopt-running-platform.md"


@pytest.fixture(scope="module")
def prod_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prod render as `./tasks.sh render prod` writes it: what the runbook's pre-flight reads."""
    out = tmp_path_factory.mktemp("render") / "prod"
    render.write(run_stack("prod"), out)
    return out


def _rendered_kinds(folder: Path) -> set[str]:
    return {load_yaml(path.read_text())["kind"] for path in (folder / "kubernetes").glob("*.yaml")}


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


def _kubectl_answering(
    live: set[tuple[str, str]], fail: Set[str] = frozenset()
) -> tuple[list[list[str]], preflight.Runner]:
    """A kubectl that knows ``live`` ((resource, name) pairs) and fails for resources in ``fail``;
    asked for YAML, it answers a document naming the object."""
    asked: list[list[str]] = []

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


def _no_kubectl(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    raise AssertionError(f"--print runs no kubectl, not {args}")


def test_the_preflight_asks_about_every_object_of_the_render(prod_render: Path) -> None:
    items = preflight.objects(prod_render)
    rendered = {
        (manifest["kind"], manifest["metadata"].get("namespace"), manifest["metadata"]["name"])
        for manifest in (load_yaml(p.read_text()) for p in (prod_render / "kubernetes").glob("*.yaml"))
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
    assert preflight.main(["--render", str(prod_render), "--print"], run=_no_kubectl) == 0
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
