"""The CrossGuard policy pack (policy/, its own venv) over the offline render of every stack, as
`./tasks.sh test` runs it: a policy violation fails CI without the Pulumi CLI. The pack's own tests
(policy/tests) run here too, in the pack's venv."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from helpers import required_tool

from offline import render
from offline.harness import ROOT, stack_names


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("policy")
    for stack in stack_names():
        assert render.main(["--stack", stack, "--out", str(out / stack)]) == 0
    return [out / stack for stack in stack_names()]


def _pack_python() -> str:
    return required_tool("the policy pack's python", ROOT / "policy" / "venv" / "bin" / "python")


def _run_pack(*folders: Path) -> subprocess.CompletedProcess:
    command = [_pack_python(), str(ROOT / "policy" / "offline.py"), *map(str, folders)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_packs_own_tests_pass(renders: list[Path]) -> None:
    # In the pack's venv (pulumi-policy pins an older protobuf), by policy/pytest.ini. A test of
    # this suite, so they run on a worker beside the other tests instead of after them all, over
    # this module's renders of every stack (policy/tests render them otherwise).
    command = [_pack_python(), "-m", "pytest", "policy", "-q", "-p", "no:cacheprovider"]
    environment = {**os.environ, "POLICY_TEST_RENDERS": str(renders[0].parent)}
    completed = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
    assert re.search(r"^\d+ passed", completed.stdout.splitlines()[-1]), completed.stdout[-2000:]


def test_every_stack_passes_the_policy_pack(renders: list[Path]) -> None:
    completed = _run_pack(*renders)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for folder, line in zip(renders, completed.stdout.splitlines(), strict=True):
        count = len(json.loads((folder / "plan.json").read_text(encoding="utf-8"))["resources"])
        # How many policies the pack holds is the pack's own tests' business (policy/tests).
        assert re.fullmatch(rf"{folder.name}: \d+ policies, {count} resources, 0 violations", line), line


def test_a_violation_fails_the_run_naming_policy_and_resource(renders: list[Path], tmp_path: Path) -> None:
    plan = json.loads((renders[0] / "plan.json").read_text(encoding="utf-8"))
    (deployment,) = (entry for entry in plan["resources"] if entry["type"] == "kubernetes:apps/v1:Deployment")
    del deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    name = deployment["name"]
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    completed = _run_pack(tmp_path)
    assert completed.returncode == 1
    assert completed.stdout.splitlines()[1:] == [
        f"  mandatory [container-resources] kubernetes:apps/v1:Deployment '{name}': container 'backend' has no "
        "requests.cpu"
    ]
