"""The Kubernetes provider's inputs come from the settings alone, never from the operator's shell."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pulumi_kubernetes.provider
import pytest
from helpers import run_changed

from offline import render
from offline.harness import PROJECT, ROOT, RunResult, Secret, StackRun, run_stack, stack_config

PROVIDER = "pulumi:providers:kubernetes"
# What any shell's `pulumi preview` must send for prod, written out: a safe, explicit value for
# every input the SDK would otherwise fill from the environment.
PROD_PROVIDER_INPUTS = {
    "context": "reconciliation-prod",
    "clusterIdentifier": "reconciliation-prod",
    "namespace": "reconciliation-platform",
    "kubeconfig": "",
    "enableServerSideApply": "true",
    "deleteUnreachable": "false",
    "skipUpdateUnreachable": "false",
    "upsertExistingObjects": "false",
    "enablePatchForce": "false",
    "enableConfigMapMutable": "false",
    "enableSecretMutable": "false",
    "suppressDeprecationWarnings": "false",
    "suppressHelmHookWarnings": "false",
}


def _sdk_environment_fallbacks() -> dict[str, str]:
    """{camelCase input: variable} for every Provider input the SDK fills from the environment,
    read from the installed SDK's source, so a fallback added by an SDK upgrade is covered too."""
    source = Path(pulumi_kubernetes.provider.__file__).read_text()
    pairs = re.findall(r"if (\w+) is None:\s+\1 = _utilities\.get_env\w*\('(\w+)'", source)
    assert pairs, "the SDK's environment fallbacks were not found: has provider.py changed shape?"
    return {re.sub(r"_(\w)", lambda m: m[1].upper(), name): variable for name, variable in pairs}


def _hostile() -> dict[str, str]:
    """Every variable the SDK reads, set to what would hurt: each switch flipped, a local path."""
    environ = dict.fromkeys(_sdk_environment_fallbacks().values(), "true")
    environ["PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY"] = "false"
    environ["KUBECONFIG"] = "/home/alice/.kube/config"
    return environ


def test_prod_provider_inputs_are_exactly_the_safe_ones() -> None:
    assert run_stack("prod").one(PROVIDER).inputs == PROD_PROVIDER_INPUTS


def test_the_sdk_reads_the_variables_this_test_sets() -> None:
    fallbacks = _sdk_environment_fallbacks()
    assert fallbacks["kubeconfig"] == "KUBECONFIG"
    assert fallbacks["deleteUnreachable"] == "PULUMI_K8S_DELETE_UNREACHABLE"
    assert fallbacks["upsertExistingObjects"] == "PULUMI_K8S_UPSERT_EXISTING_OBJECTS"


def test_every_input_the_sdk_would_take_from_the_shell_is_set(result: RunResult) -> None:
    inputs = result.one(PROVIDER).inputs
    assert set(_sdk_environment_fallbacks()) <= set(inputs)
    assert all(value is not None for value in inputs.values())


def test_hostile_shell_gives_byte_identical_provider_inputs(result: RunResult, stack: str) -> None:
    config, secret_keys = stack_config(stack)
    hostile = StackRun(stack, config, secret_keys, environ=_hostile()).execute()
    assert repr(hostile.one(PROVIDER).inputs) == repr(result.one(PROVIDER).inputs)
    assert "/home/alice" not in repr([r.inputs for r in hostile.resources])


def test_the_hostile_shell_really_changes_an_unpinned_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    # Proves the test above can fail: the same variables do reach a provider left to its defaults.
    from pulumi_kubernetes.provider import ProviderArgs

    for variable, value in _hostile().items():
        monkeypatch.setenv(variable, value)
    args = ProviderArgs()
    assert args.kubeconfig == "/home/alice/.kube/config"
    assert args.delete_unreachable is True
    assert args.enable_server_side_apply is False


def test_a_stack_kubeconfig_reaches_the_provider_only_as_a_secret() -> None:
    config, secret_keys = stack_config("prod")
    config[f"{PROJECT}:kubeconfig"] = "apiVersion: v1\nkind: Config\ntoken: hunter2"
    result = StackRun("prod", config, [*secret_keys, f"{PROJECT}:kubeconfig"], environ=_hostile()).execute()
    inputs = result.one(PROVIDER).inputs
    assert isinstance(inputs["kubeconfig"], Secret)
    assert {k: v for k, v in inputs.items() if k != "kubeconfig"} == {
        k: v for k, v in PROD_PROVIDER_INPUTS.items() if k != "kubeconfig"
    }
    assert "hunter2" not in repr([r.inputs for r in result.resources])


def test_switches_and_cluster_identifier_come_from_settings() -> None:
    run = run_changed(
        "dev",
        {
            "kubernetes.clusterIdentifier": "arn:aws:eks:eu-west-1:111122223333:cluster/dev",
            "kubernetes.provider": {"suppressDeprecationWarnings": True, "deleteUnreachable": True},
        },
    )
    inputs = run.execute().one(PROVIDER).inputs
    assert inputs["clusterIdentifier"] == "arn:aws:eks:eu-west-1:111122223333:cluster/dev"
    assert inputs["suppressDeprecationWarnings"] == "true"
    assert inputs["deleteUnreachable"] == "true"  # allowed outside production, e.g. to retire a dead cluster
    assert inputs["upsertExistingObjects"] == "false"


def test_render_under_a_hostile_shell_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh process, another hash seed, and every variable the SDK would read, against a render
    # in this process with none of them: the render does not clear them, so this is what any
    # operator's shell would preview.
    clean, hostile = tmp_path / "clean", tmp_path / "hostile"
    base = {k: v for k, v in os.environ.items() if k != "KUBECONFIG" and not k.startswith("PULUMI_K8S_")}
    for name in set(os.environ) - set(base):
        monkeypatch.delenv(name)
    assert render.main(["--stack", "prod", "--out", str(clean)]) == 0
    command = [sys.executable, "-m", "offline.render", "--stack", "prod", "--out", str(hostile)]
    subprocess.run(
        command, cwd=ROOT, env={**base, **_hostile(), "PYTHONHASHSEED": "12345"}, check=True, capture_output=True
    )
    files = sorted(p.relative_to(clean) for p in clean.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(hostile) for p in hostile.rglob("*") if p.is_file())
    assert all((clean / f).read_bytes() == (hostile / f).read_bytes() for f in files)
    assert "/home/alice" not in "".join((hostile / f).read_text() for f in files)
