"""The render-vs-live comparison of the adoption runbook, on live exports of the running platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from helpers import changed

from offline import compare

LIVE = Path(__file__).parent / "fixtures" / "live" / "running-platform"


def _run(capsys: pytest.CaptureFixture, live: Path, *extra: str) -> tuple[int, str]:
    code = compare.main(["--stack", "prod", "--live", str(live), *extra])
    return code, capsys.readouterr().out


def _with_deployment(tmp_path: Path, edit) -> Path:
    """A copy of the live export with the Deployment changed by ``edit``."""
    live = tmp_path / "live"
    shutil.copytree(LIVE, live)
    workload = yaml.safe_load((live / "workload.yaml").read_text())
    edit(next(item for item in workload["items"] if item["kind"] == "Deployment"))
    (live / "workload.yaml").write_text(yaml.safe_dump(workload))
    return live


def test_the_running_platform_is_adopted_with_updates_only(capsys: pytest.CaptureFixture) -> None:
    code, out = _run(capsys, LIVE)
    assert code == 0
    assert out.rstrip().endswith("0 replaced, 5 changed in place, 0 problems")
    for line in (
        "import    Namespace reconciliation-platform  (import reconciliation-platform)",
        "import    Deployment reconciliation-platform/backend  (import reconciliation-platform/backend)",
        "import    Service reconciliation-platform/backend  (import reconciliation-platform/backend)",
        "import    HorizontalPodAutoscaler reconciliation-platform/backend-hpa  "
        "(import reconciliation-platform/backend-hpa)",
        "import    PodDisruptionBudget reconciliation-platform/backend-pdb  "
        "(import reconciliation-platform/backend-pdb)",
        "create    ServiceAccount reconciliation-platform/backend",
        "create    NetworkPolicy reconciliation-platform/backend",
    ):
        assert line in out.splitlines()
    # Field by field, live -> program; what the program does not set stays (the HPA owns replicas).
    assert '    ~ spec.template.spec.containers[backend].image: "ghcr.io/acme/reconciliation-backend:1.4.1" -> ' in out
    assert '    ~ spec.strategy.rollingUpdate.maxUnavailable: "25%" -> 0' in out.splitlines()
    assert "    kept: spec.replicas = 3" in out.splitlines()


def test_server_set_fields_and_defaults_are_ignored(capsys: pytest.CaptureFixture) -> None:
    _, out = _run(capsys, LIVE)
    for server_set in (
        "uid",
        "resourceVersion",
        "managedFields",
        "status",
        "clusterIP",
        "creationTimestamp",
        "last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "terminationMessagePath",
        "dnsPolicy",
        "successThreshold",
        "finalizers",
        "kubernetes.io/metadata.name",
    ):
        assert server_set not in out, server_set


def test_a_different_selector_is_reported_as_a_forced_replace(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    def relabel(deployment: dict) -> None:
        deployment["spec"]["selector"]["matchLabels"] = {"app": "reconciliation-backend"}
        deployment["spec"]["template"]["metadata"]["labels"] = {"app": "reconciliation-backend"}

    code, out = _run(capsys, _with_deployment(tmp_path, relabel))
    assert code == 1
    assert "REPLACE   Deployment reconciliation-platform/backend  (import reconciliation-platform/backend)" in out
    assert (
        '    !! REPLACE spec.selector.matchLabels.app: "reconciliation-backend" -> "backend" '
        "(immutable: the object is deleted and created again)"
    ) in out.splitlines()
    assert out.rstrip().endswith("1 replaced, 5 changed in place, 0 problems")


def test_a_live_object_the_stack_would_create_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": changed("prod", {"kubernetes.adopt": ["namespace"]})}))
    code, out = _run(capsys, LIVE, "--stack-file", str(stack_file))
    assert code == 1
    assert "exists!   Deployment reconciliation-platform/backend" in out.splitlines()
    assert "    problem: live already, but not adopted: creating it fails (add it to kubernetes.adopt)" in out


def test_an_adopted_object_that_is_not_live_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    live = tmp_path / "live"
    shutil.copytree(LIVE, live)
    (live / "namespace.yaml").unlink()
    code, out = _run(capsys, live)
    assert code == 1
    assert "import?   Namespace reconciliation-platform  (import reconciliation-platform)" in out.splitlines()
    assert "    problem: adopted (import reconciliation-platform) but not among the live objects" in out


def test_live_objects_the_stack_does_not_declare_are_listed_not_touched(tmp_path: Path, capsys) -> None:
    live = tmp_path / "live"
    shutil.copytree(LIVE, live)
    (live / "extra.yaml").write_text(
        "kind: ConfigMap\nmetadata: {name: backend-config, namespace: reconciliation-platform}\n"
    )
    code, out = _run(capsys, live)
    assert code == 0
    assert "unmanaged ConfigMap reconciliation-platform/backend-config" in out.splitlines()


def test_quantities_and_ports_compare_by_value() -> None:
    report = compare.Report("Deployment", "ns/x", "", True)
    compare.diff(
        {"cpu": "0.5", "memory": "512Mi", "port": 8000},
        {"cpu": "500m", "memory": "536870912", "port": "8000"},
        "",
        report,
        (),
    )
    assert report.changes == []
    compare.diff({"cpu": "0.5"}, {"cpu": "250m"}, "", report, ())
    assert report.changes == ['cpu: "250m" -> "0.5"']


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert compare.main(["--stack", "prod", "--live", str(tmp_path / "missing")]) == 2
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    assert compare.main(["--stack", "prod", "--live", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err
