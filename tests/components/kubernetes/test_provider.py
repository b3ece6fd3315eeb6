"""The Kubernetes provider (components/kubernetes/provider.py): its inputs come from the settings
alone, never from the operator's shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pulumi_kubernetes.provider
import pytest
from helpers import hostile_shell, run_changed, sdk_environment_fallbacks

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


def test_prod_provider_inputs_are_exactly_the_safe_ones() -> None:
    assert run_stack("prod").one(PROVIDER).inputs == PROD_PROVIDER_INPUTS


def test_the_sdk_reads_the_variables_this_test_sets() -> None:
    fallbacks = sdk_environment_fallbacks(pulumi_kubernetes.provider)
    assert fallbacks["kubeconfig"] == "KUBECONFIG"
    assert fallbacks["deleteUnreachable"] == "PULUMI_K8S_DELETE_UNREACHABLE"
    assert fallbacks["upsertExistingObjects"] == "PULUMI_K8S_UPSERT_EXISTING_OBJECTS"


def test_every_input_the_sdk_would_take_from_the_shell_is_set(result: RunResult) -> None:
    inputs = result.one(PROVIDER).inputs
    assert set(sdk_environment_fallbacks(pulumi_kubernetes.provider)) <= set(inputs)
    assert all(value is not None for value in inputs.values())


def test_hostile_shell_gives_byte_identical_provider_inputs(result: RunResult, stack: str) -> None:
    config, secret_keys = stack_config(stack)
    hostile = StackRun(stack, config, secret_keys, environ=hostile_shell("kubernetes")).execute()
    assert repr(hostile.one(PROVIDER).inputs) == repr(result.one(PROVIDER).inputs)
    assert "/home/alice" not in repr([r.inputs for r in hostile.resources])


def test_a_stack_kubeconfig_reaches_the_provider_only_as_a_secret() -> None:
    config, secret_keys = stack_config("prod")
    config[f"{PROJECT}:kubeconfig"] = "apiVersion: v1\nkind: Config\ntoken: hunter2"
    result = StackRun(
        "prod", config, [*secret_keys, f"{PROJECT}:kubeconfig"], environ=hostile_shell("kubernetes")
    ).execute()
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
        command,
        cwd=ROOT,
        env={**base, **hostile_shell("kubernetes"), "PYTHONHASHSEED": "12345"},
        check=True,
        capture_output=True,
    )
    files = sorted(p.relative_to(clean) for p in clean.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(hostile) for p in hostile.rglob("*") if p.is_file())
    assert all((clean / f).read_bytes() == (hostile / f).read_bytes() for f in files)
    assert "/home/alice" not in "".join((hostile / f).read_text() for f in files)
