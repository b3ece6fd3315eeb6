"""The render-vs-live comparison of the adoption runbook, on live exports of the running platform."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from helpers import changed, shared_run_stack

from adoption import compare
from offline.yaml_reader import load_yaml

LIVE = Path(__file__).parents[1] / "fixtures" / "live" / "running-platform"


@pytest.fixture(autouse=True)
def _one_render_per_stack_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command renders the stack file it reads, unchanged in most tests here: each distinct
    config is run once per worker (helpers.shared_run_stack), the command's own code runs as it is.
    No test here changes the shell or the clock; the comparison never changes the result."""
    monkeypatch.setattr(compare, "run_stack", shared_run_stack)


def _run(capsys: pytest.CaptureFixture, live: Path, *extra: str) -> tuple[int, str]:
    code = compare.main(["--stack", "prod", "--live", str(live), *extra])
    return code, capsys.readouterr().out


def _with_deployment(tmp_path: Path, edit) -> Path:
    """A copy of the live export with the Deployment changed by ``edit``."""
    live = tmp_path / "live"
    shutil.copytree(LIVE, live)
    workload = load_yaml((live / "workload.yaml").read_text())
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


def _report(desired: dict, have: dict) -> compare.Report:
    report = compare.Report("Deployment", "ns/x", "", True)
    compare.diff(desired, have, "", compare._Context(report, ("spec.selector",), set()))
    return report


def test_quantities_and_ports_compare_by_value_nothing_else() -> None:
    same = _report(
        {"cpu": "0.5", "memory": "512Mi", "port": 8000}, {"cpu": "500m", "memory": "536870912", "port": "8000"}
    )
    assert same.changes == []
    assert _report({"cpu": "0.5"}, {"cpu": "250m"}).changes == ['cpu: "250m" -> "0.5"']
    # Not quantities: a version label 1.40 is not 1.4, a flag is not its text.
    assert _report({"version": "1.40"}, {"version": "1.4"}).changes == ['version: "1.4" -> "1.40"']
    assert _report({"enabled": True}, {"enabled": "True"}).changes == ['enabled: "True" -> true']


def test_a_live_only_selector_key_is_a_replace_too() -> None:
    report = _report(
        {"spec": {"selector": {"app": "backend"}}}, {"spec": {"selector": {"app": "backend", "tier": "api"}}}
    )
    assert report.replaces == [
        'spec.selector.tier: "api" -> (unset) (immutable: the object is deleted and created again)'
    ]


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert compare.main(["--stack", "prod", "--live", str(tmp_path / "missing")]) == 2
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    assert compare.main(["--stack", "prod", "--live", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_fields_kubectl_owns_are_removed_and_replicas_must_be_handed_over(tmp_path: Path, capsys) -> None:
    def kubectl_owns_replicas_and_an_env(deployment: dict) -> None:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        container["env"] = [{"name": "LEGACY_FLAG", "value": "1"}]
        managed = deployment["metadata"]["managedFields"]
        kubectl = next(entry for entry in managed if entry["manager"] == "kubectl-client-side-apply")
        kubectl["fieldsV1"]["f:spec"]["f:replicas"] = {}
        fields = kubectl["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"backend"}']
        fields["f:env"] = {".": {}, 'k:{"name":"LEGACY_FLAG"}': {".": {}, "f:name": {}, "f:value": {}}}
        deployment["metadata"]["managedFields"] = [e for e in managed if e.get("subresource") != "scale"]

    code, out = _run(capsys, _with_deployment(tmp_path, kubectl_owns_replicas_and_an_env))
    assert code == 1
    assert "    - spec.replicas = 3 (owned by kubectl: removed)" in out.splitlines()
    assert (
        "    problem: spec.replicas is owned by kubectl: the first `up` would remove it and the Deployment would drop "
        "to 1 pod; hand it to the HPA first (runbook, step 2)"
    ) in out.splitlines()
    # Items of keyed lists are matched by name: LOG_LEVEL is added, kubectl's LEGACY_FLAG removed.
    lines = out.splitlines()
    assert (
        '    ~ spec.template.spec.containers[backend].env[LOG_LEVEL]: (unset) -> {"name": "LOG_LEVEL", "value": "info"}'
        in lines
    )
    assert (
        '    - spec.template.spec.containers[backend].env[LEGACY_FLAG].value = "1" (owned by kubectl: removed)' in lines
    )


def test_an_export_without_managed_fields_is_a_problem(tmp_path: Path, capsys) -> None:
    code, out = _run(capsys, _with_deployment(tmp_path, lambda d: d["metadata"].pop("managedFields")))
    assert code == 1
    assert "problem: exported without managed fields: export with --show-managed-fields" in out


def test_a_stack_aimed_at_other_names_is_not_a_silent_second_deployment(tmp_path: Path, capsys) -> None:
    # The failure the adoption exists to prevent: prod as it was, in `reconciliation`, nothing adopted.
    changes = {"kubernetes.namespace": "reconciliation", "kubernetes.adopt": []}
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump({"config": changed("prod", changes)}))
    code, out = _run(capsys, LIVE, "--stack-file", str(stack_file))
    assert code == 1
    assert "    problem: live, but not the Deployment the stack declares: check the stack's names" in out.splitlines()


def test_an_export_in_another_api_version_is_a_problem(tmp_path: Path, capsys) -> None:
    code, out = _run(capsys, _with_deployment(tmp_path, lambda d: d.update(apiVersion="apps/v1beta2")))
    assert code == 1
    assert "problem: exported as apps/v1beta2, declared as apps/v1" in out


def test_a_root_security_context_on_the_live_pod_is_not_hidden(tmp_path: Path, capsys) -> None:
    code, out = _run(
        capsys,
        _with_deployment(tmp_path, lambda d: d["spec"]["template"]["spec"].update(securityContext={"runAsUser": 0})),
    )
    assert code == 0
    assert "    ~ spec.template.spec.securityContext.runAsUser: 0 -> 10001" in out.splitlines()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Service\nmetadata: {name: backend, namespace: reconciliation-platform}\n", "is exported twice"),
        ("- just\n- a list\n", "is not a Kubernetes object"),
    ],
)
def test_an_unreadable_export_exits_2(text: str, message: str, tmp_path: Path, capsys) -> None:
    live = tmp_path / "live"
    shutil.copytree(LIVE, live)
    (live / "zz-extra.yaml").write_text(text)
    assert compare.main(["--stack", "prod", "--live", str(live)]) == 2
    assert message in capsys.readouterr().err


def test_replicas_handed_over_to_another_manager_stay(tmp_path: Path, capsys) -> None:
    # The runbook's hand-over: a second manager applies the same replicas, so kubectl no longer
    # owns them alone and the first `up` leaves them.
    def handed_over(deployment: dict) -> None:
        managed = deployment["metadata"]["managedFields"]
        kubectl = next(entry for entry in managed if entry["manager"] == "kubectl-client-side-apply")
        kubectl["fieldsV1"]["f:spec"]["f:replicas"] = {}
        managed.append({"manager": "handover-to-hpa", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}})

    code, out = _run(capsys, _with_deployment(tmp_path, handed_over))
    assert code == 0
    assert "    kept: spec.replicas = 3" in out.splitlines()


def test_the_rollback_copy_drops_bookkeeping_and_keeps_the_object(tmp_path: Path, capsys) -> None:
    from adoption import live

    assert live.main([str(LIVE), str(tmp_path)]) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [
        "deployment-reconciliation-platform-backend.yaml",
        "horizontalpodautoscaler-reconciliation-platform-backend-hpa.yaml",
        "namespace-reconciliation-platform.yaml",
        "poddisruptionbudget-reconciliation-platform-backend-pdb.yaml",
        "service-reconciliation-platform-backend.yaml",
    ]
    service = load_yaml((tmp_path / "service-reconciliation-platform-backend.yaml").read_text())
    assert "status" not in service
    assert not {"uid", "resourceVersion", "managedFields", "creationTimestamp"} & set(service["metadata"])
    assert service["spec"]["clusterIP"] == "10.100.37.12"  # a replaced Service keeps its IP
    assert service["spec"]["selector"] == {"app": "backend"}
    assert live.main([str(LIVE)]) == 2
    assert live.main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.yaml").write_text("kind: [\n")
    assert live.main([str(tmp_path / "broken"), str(tmp_path / "out")]) == 2
