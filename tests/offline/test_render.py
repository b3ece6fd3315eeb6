"""The offline render: deterministic kubectl-ready files that real validators accept."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from helpers import changed, reserved, shared_run_stack, validated

from offline import documents, render
from offline.harness import PROJECT, ROOT, RunResult, run_stack, stack_config, stack_names
from offline.yaml_reader import load_yaml
from settings.objects import KINDS


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stack rendered once through the CLI entry point, under one folder; the program run is
    the worker's shared one of that stack file (helpers.shared_run_stack)."""
    out = tmp_path_factory.mktemp("render")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "run_stack", shared_run_stack)
        for stack in stack_names():
            assert render.main(["--stack", stack, "--out", str(out / stack)]) == 0
    return out


@pytest.fixture
def shared_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's program run shared per distinct stack file (helpers.shared_run_stack), for a
    test about what the command does with a run, not about the run itself. Not for
    test_render_is_byte_identical_across_runs, whose point is a second, fresh run."""
    monkeypatch.setattr(render, "run_stack", shared_run_stack)


def _manifests(folder: Path) -> list[dict]:
    return [load_yaml(path.read_text()) for path in sorted(folder.glob("*/kubernetes/*.yaml"))]


def test_render_writes_kubernetes_yaml_and_other_resources_as_json(rendered: Path, stack: str) -> None:
    out = rendered / stack
    kinds = sorted(load_yaml(p.read_text())["kind"] for p in (out / "kubernetes").glob("*.yaml"))
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= set(kinds)
    provider = json.loads(
        next((out / "resources").glob("pulumi-providers-kubernetes--*.json")).read_text(encoding="utf-8")
    )
    assert provider["type"] == "pulumi:providers:kubernetes"
    assert provider["inputs"]["context"]
    outputs = json.loads((out / "outputs.json").read_text(encoding="utf-8"))
    assert outputs["namespace"]
    assert "Resources:" in (out / "summary.txt").read_text()


# The order `kubectl apply -f` must create things in, written out (Helm's install order): the
# Namespace before anything in it, the ServiceAccount before the Deployment that runs as it.
APPLY_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "ServiceAccount",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    # Custom resources come after every kind Helm knows, by kind.
    "ExternalSecret",
    "SecretStore",
]
CUSTOM_KINDS = ("ExternalSecret", "SecretStore", "PodMonitor")
# The custom resources' schemas kept in the repository, one definition per kind.
SCHEMAS = {
    "definitions": {
        name: definition
        for file in ("external-secrets-v1", "prometheus-operator-v1")
        for name, definition in json.loads((ROOT / "schemas" / f"{file}.schema.json").read_text())[
            "definitions"
        ].items()
    }
}


def test_files_apply_in_helm_install_order(rendered: Path, stack: str) -> None:
    names = sorted(p.name for p in (rendered / stack / "kubernetes").glob("*.yaml"))
    kinds = [load_yaml((rendered / stack / "kubernetes" / name).read_text())["kind"] for name in names]
    settings = validated(stack)[0]
    expected = APPLY_ORDER if settings.kubernetes.create_namespace else APPLY_ORDER[1:]
    if settings.backend.metrics.pod_monitor.enabled:
        expected = [*expected[:-1], "PodMonitor", expected[-1]]  # custom kinds sort by name
    assert kinds == expected
    if settings.kubernetes.create_namespace:
        assert names[0].startswith("01-namespace-")


def test_kinds_helm_does_not_know_come_last() -> None:
    from offline.harness import Registration

    def named(kind: str) -> str:
        inputs = {"kind": kind, "metadata": {"name": "x"}}
        return documents.manifest_filename(Registration("u", "t", "x", "", "", True, inputs, False, []))

    ordered = sorted(["ExternalSecret", "Deployment", "Namespace", "PodMonitor", "PriorityClass"], key=named)
    assert ordered == ["PriorityClass", "Namespace", "Deployment", "ExternalSecret", "PodMonitor"]


def test_integers_stay_integers(rendered: Path, stack: str) -> None:
    text = next((rendered / stack / "kubernetes").glob("*-horizontalpodautoscaler-*.yaml")).read_text()
    hpa = load_yaml(text)
    assert type(hpa["spec"]["minReplicas"]) is int
    assert type(hpa["spec"]["behavior"]["scaleUp"]["policies"][0]["periodSeconds"]) is int
    assert ".0\n" not in text


def test_render_is_byte_identical_across_runs(rendered: Path, stack: str, tmp_path: Path) -> None:
    assert render.run_stack is run_stack  # a run of its own, against `rendered`'s
    assert render.main(["--stack", stack, "--out", str(tmp_path)]) == 0
    first = {p.relative_to(rendered / stack): p.read_bytes() for p in (rendered / stack).rglob("*") if p.is_file()}
    again = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert first == again


def test_manifests_pass_kubernetes_validate_strict_for_the_stack_cluster(rendered: Path, stack: str) -> None:
    # Against the schemas of the Kubernetes version the stack says its cluster runs.
    version = f"{validated(stack)[0].kubernetes.version}.0"
    manifests = [load_yaml(p.read_text()) for p in sorted((rendered / stack / "kubernetes").glob("*.yaml"))]
    assert len(manifests) >= 8
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            _custom_resource_validator(manifest["kind"]).validate(manifest)
        else:
            kubernetes_validate.validate(manifest, version, strict=True)


def _custom_resource_validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator({**SCHEMAS, "$ref": f"#/definitions/{kind}"})


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("ExternalSecret", ("spec", "target", "deletionPolicy"), "Keep"),  # not an enum value
        ("ExternalSecret", ("spec", "refreshIntervall"), "1h"),  # unknown field
        ("ExternalSecret", ("apiVersion",), "external-secrets.io/v1beta1"),  # no longer served
        ("SecretStore", ("spec", "provider", "aws", "service"), "SecretManager"),
        ("SecretStore", ("spec", "provider", "aws", "auth", "jwt", "serviceAccount"), {"name": "x"}),
    ],
)
def test_the_custom_resource_schema_refuses_what_the_operator_would(
    rendered: Path, kind: str, path: tuple, value: object
) -> None:
    manifest = load_yaml(next((rendered / "prod" / "kubernetes").glob(f"*-{kind.lower()}-*.yaml")).read_text())
    _custom_resource_validator(kind).validate(manifest)
    node = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        _custom_resource_validator(kind).validate(manifest)


def test_kubernetes_validate_strict_rejects_a_typo_and_a_field_too_new(rendered: Path) -> None:
    # Proves the check above can fail: strict mode refuses an unknown field, and a field the
    # stack's version does not know yet (the preStop sleep action is new in 1.29's schema).
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"selectr": {}}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(manifest, "1.33.0", strict=True)
    deployment = load_yaml(next((rendered / "prod" / "kubernetes").glob("*-deployment-*.yaml")).read_text())
    kubernetes_validate.validate(deployment, "1.33.0", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.28.0", strict=True)


def test_config_error_exits_2_with_only_the_messages(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": changed("dev", {"backend.autoscaling.minReplicas": 9})}))
    assert render.main(["--stack", "dev", "--stack-file", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid configuration for stack 'dev' (1 problem):\n  - ")
    assert "minReplicas = 9" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_stack_is_refused_naming_the_stacks_there_are(capsys: pytest.CaptureFixture) -> None:
    assert render.main(["--stack", "no-such-stack"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: no stack 'no-such-stack' (no Pulumi.no-such-stack.yaml in {ROOT}); "
        f"the stacks are: {', '.join(stack_names())}\n"
    )


def test_a_missing_stack_file_is_refused_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert render.main(["--stack-file", str(tmp_path / "Pulumi.x.yaml")]) == 2
    assert capsys.readouterr().err == f"error: --stack-file {tmp_path / 'Pulumi.x.yaml'} is not a file\n"


def test_secure_values_render_as_secret_markers(tmp_path: Path) -> None:
    document = changed("dev", {"kubeconfig": {"secure": "v1:c2VjcmV0LWtleS1jaXBoZXJ0ZXh0"}})
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": document}))
    assert render.main(["--stack", "dev", "--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    provider = json.loads(
        next((tmp_path / "out" / "resources").glob("pulumi-providers-kubernetes--*.json")).read_text(encoding="utf-8")
    )
    assert provider["inputs"]["kubeconfig"] == documents.SECRET_MARK
    everything = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert "offline-placeholder-secret" not in everything


def test_summary_is_shaped_like_a_preview(result: RunResult) -> None:
    text = render.summary(result)
    assert f"Offline preview of stack '{result.stack}'" in text
    assert "reconciliation:backend:BackendService" in text
    assert "└─ kubernetes:" in text
    imports = [r for r in result.resources if r.import_id]
    assert f"+ {len(result.resources) + 1 - len(imports)} to create" in text
    # Each adopted object is one row marked `=`.
    rows = [line for line in text.splitlines() if line.endswith(("  import", "  import, protected"))]
    assert len(rows) == len(imports)
    assert all(row.startswith(" =   ") for row in rows)


def _section(text: str, heading: str) -> list[str]:
    """The indented lines under ``heading`` in a summary ([] when it has no such section)."""
    if f"\n{heading}\n" not in text:
        return []
    return text.split(f"\n{heading}\n", 1)[1].split("\n\n", 1)[0].splitlines()


def test_the_summary_lists_the_live_object_each_import_adopts(result: RunResult, settings) -> None:
    """The IDs the stack file leads to: `<namespace>/<name>` of each adopted Kubernetes object, the
    ARN of each adopted secret; listed under the tree, where a 100-character ARN fits."""
    expected = [settings.import_id(key) for key in settings.kubernetes.adopt]
    expected += [secret.import_arn for secret in settings.secrets.inventory if secret.import_arn]
    listed = _section(render.summary(result), "Imports (the live object each `=` row adopts):")
    assert sorted(line.split()[-1] for line in listed) == sorted(expected)
    assert all(line.startswith("    ") for line in listed)


def test_the_summary_names_each_object_as_the_cluster_does(result: RunResult, settings) -> None:
    """Beside the Pulumi name (`backend`), the name the settings give the object in its namespace."""
    rows = render.summary(result).splitlines()
    namespace = settings.kubernetes.namespace
    for key, kind in KINDS.items():
        real = namespace if kind == "Namespace" else f"{namespace}/{settings.object_name(key)}"
        found = [row for row in rows if f":{kind}  " in row and f" ({real})" in row]
        declared = key != "namespace" or settings.kubernetes.create_namespace
        assert len(found) == declared, (kind, real)


def test_every_summary_line_fits_a_terminal(rendered: Path, stack: str) -> None:
    lines = (rendered / stack / "summary.txt").read_text(encoding="utf-8").splitlines()
    too_wide = [line for line in lines if len(line) >= 160]
    assert too_wide == []


def test_a_config_that_is_no_mapping_exits_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": list(changed("dev", {}))}))
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: {stack_file}: `config:` must be a mapping of keys to values\n"


def _broken(tmp_path: Path, stack: str) -> tuple[Path, str]:
    """The parsed stack file written back with an unclosed list after it: (file, the error)."""
    text = yaml.safe_dump({"config": changed(stack, {})})
    stack_file = tmp_path / f"Pulumi.{stack}.yaml"
    stack_file.write_text(text + "  unclosed: [\n")
    # libyaml's words, at the end of the file, where the list should have closed.
    end = len(text.splitlines()) + 2
    return stack_file, (
        f"{stack_file}:{end}:1: not a valid YAML stack file: did not find expected node content "
        f"(while parsing a flow node at line {end}, column 1)"
    )


def test_a_yaml_error_is_one_line_naming_the_file_at_the_place(
    tmp_path: Path, stack: str, capsys: pytest.CaptureFixture
) -> None:
    stack_file, message = _broken(tmp_path, stack)
    assert render.main(["--stack", stack, "--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_the_harness_reports_a_yaml_error_as_the_render_does(tmp_path: Path, stack: str) -> None:
    """The tests' and the other tools' way in (`stack_config`, `StackRun(stack)`): the same line."""
    _, message = _broken(tmp_path, stack)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        stack_config(stack, tmp_path)


def test_a_duplicate_key_names_both_places(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    text = yaml.safe_dump({"config": changed("dev", {})})
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(f"  {PROJECT}:production:"))
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text + f"  {PROJECT}:production: true\n")
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"error: {stack_file}:{len(text.splitlines()) + 1}:3: not a valid YAML stack file: duplicate key "
        f"'{PROJECT}:production' (first written at line {first}, column 3)\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("config:\n  ? [a, b]\n  : 1\n", 2, "found unhashable key (while constructing a mapping at line 2, column 3)"),
        ("config:\n  a: \x01\n", 2, "character #x0001: control characters are not allowed"),
        (
            "config:\n  a: 'x\n",
            3,
            "found unexpected end of stream (while scanning a quoted scalar at line 2, column 6)",
        ),
    ],
)
def test_a_broken_stack_file_exits_2_on_one_line_without_traceback(
    text: str, line: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text)
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {stack_file}:{line}:")
    assert err.endswith(f": not a valid YAML stack file: {message}\n")
    assert err.count("\n") == 1


def test_a_stack_file_that_is_not_utf8_is_named_at_the_byte(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_bytes(yaml.safe_dump({"config": changed("dev", {})}).encode() + b"  owner: caf\xe9\n")
    lines = stack_file.read_bytes().count(b"\n")
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        f"error: {stack_file}:{lines}:13: not a valid YAML stack file: not UTF-8 text (byte 0xe9)\n"
    )


def test_a_secret_application_value_is_refused_and_never_written(tmp_path: Path, capsys) -> None:
    document = changed("dev", {"backend.env.DB_PASSWORD": {"secure": "v1:AAAA"}})
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": document}))
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "reconciliation-platform:backend = [secret]: only kubeconfig, grafanaAuth, grafanaSlackUrl," in err
    assert "offline-placeholder-secret" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("shared_runs")
def test_a_re_render_drops_what_the_stack_no_longer_declares(tmp_path: Path) -> None:
    assert render.main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    assert list((tmp_path / "kubernetes").glob("*-namespace-*.yaml"))
    stack_file = tmp_path.parent / f"{tmp_path.name}-Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump({"config": changed("dev", {"kubernetes.createNamespace": False})}))
    assert render.main(["--stack", "dev", "--stack-file", str(stack_file), "--out", str(tmp_path)]) == 0
    assert not list((tmp_path / "kubernetes").glob("*-namespace-*.yaml"))


@pytest.mark.usefixtures("shared_runs")
def test_render_refuses_a_folder_it_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "kubernetes").mkdir()
    (tmp_path / "kubernetes" / "team-a.yaml").write_text("kind: Secret\n")
    assert render.main(["--stack", "dev", "--out", str(tmp_path)]) == 2
    assert "holds no previous render" in capsys.readouterr().err
    assert (tmp_path / "kubernetes" / "team-a.yaml").read_text() == "kind: Secret\n"
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert render.main(["--stack", "dev", "--out", str(a_file)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_stack_files_are_read_as_pulumi_reads_them(tmp_path: Path) -> None:
    # YAML 1.2 like Pulumi: a date-like tag stays text, a number where a quantity is expected is that
    # quantity (as Kubernetes reads `cpu: 0.5`), and a duplicate key is an error. The file is the
    # parsed dev stack with those two values changed; PyYAML writes a date and a float unquoted,
    # so the file holds `tag: 2024-01-02` and `cpu: 0.5` as plain scalars, whatever dev says today.
    document = changed("dev", {"backend.image.tag": date(2024, 1, 2), "backend.resources.limits.cpu": 0.5})
    text = yaml.safe_dump({"config": document})
    assert "tag: 2024-01-02\n" in text  # plain scalars, as the test means them
    assert "cpu: 0.5\n" in text
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(text)
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    deployment = load_yaml(next((tmp_path / "out" / "kubernetes").glob("*-deployment-*.yaml")).read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(":2024-01-02")
    assert container["resources"]["limits"]["cpu"] == "0.5"
    assert f"{PROJECT}:production" in document  # the appended line below repeats a key
    stack_file.write_text(text + f"  {PROJECT}:production: true\n")
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out2")]) == 2


def test_a_secret_stack_output_is_never_written_in_clear(tmp_path: Path) -> None:
    from offline.harness import StackOutput

    # The shared run, with outputs of its own: the secret one is added to this copy only.
    shared = shared_run_stack("dev")
    result = dataclasses.replace(shared, outputs=dict(shared.outputs))
    result.outputs["databaseUrl"] = StackOutput(value="postgres://app:hunter2@db", secret=True, known=True)
    render.write(result, tmp_path)
    assert json.loads((tmp_path / "outputs.json").read_text(encoding="utf-8"))["databaseUrl"] == documents.SECRET_MARK
    assert "    databaseUrl: [secret]\n" in (tmp_path / "summary.txt").read_text()
    assert "hunter2" not in "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())


def test_the_summary_shows_what_the_stack_reserves_and_costs(rendered: Path, stack: str) -> None:
    settings = validated(stack)[0]
    summary = (rendered / stack / "summary.txt").read_text(encoding="utf-8")
    low, high = (reserved(settings, bound) for bound in ("min", "max"))
    floor = settings.backend.autoscaling.min_replicas
    pods = f"{floor} replica{'s' if floor != 1 else ''}"
    assert f"Capacity (requests reserved):\n    at min ({pods}): {low['cpuCores']:g} CPU cores, " in summary
    assert f" {low['memoryGib']:g} GiB memory" in summary
    assert f"    monthly cost: ${low['monthlyUsd']:,.2f} to ${high['monthlyUsd']:,.2f} (requests at the" in summary
    plan = json.loads((rendered / stack / "plan.json").read_text(encoding="utf-8"))
    assert plan["capacity"]["max"]["monthlyUsd"] == high["monthlyUsd"]
