"""What keeps the dependencies current and locked: each venv installs its own lock (tools/locks.py,
tests/tools/test_locks.py), made for the Python the workflows use; Dependabot's configuration passes
its schema and covers every requirements folder, every composite action and the Pulumi SDKs as one
group; the pre-commit hooks parse, run ruff at the version requirements-dev.txt pins, and their
checks catch what they are for."""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from helpers import json_schema_check, required_tool

from offline.harness import ROOT
from tools.locks import LOCKS, PYTHON, normalized, requirement_lines

BIN = Path(sys.executable).parent
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
PRE_COMMIT = ROOT / ".pre-commit-config.yaml"


def _pins(*names: str) -> dict[str, str]:
    """{normalized name: version} of the exact pins in requirements files."""
    pins = {}
    for name in names:
        for line in requirement_lines((ROOT / name).read_text()):
            if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line):
                pins[normalized(match[1])] = match[2]
    return pins


def test_each_venv_of_tasks_sh_installs_a_lock_that_tools_locks_compiles() -> None:
    script = (ROOT / "tasks.sh").read_text()
    installed = set(re.findall(r"ensure_venv \S+ \"[^\"]*\" (\S+\.lock)", script))
    installed |= set(re.findall(r"(requirements-uv\.lock)", script))
    assert installed == set(LOCKS)


def test_the_locks_are_made_for_the_python_of_the_workflows() -> None:
    found = re.findall(r'python-version: "([^"]+)"', "".join(p.read_text() for p in (ROOT / ".github").rglob("*.yml")))
    assert found
    assert set(found) == {PYTHON}


def _dependabot() -> dict:
    return yaml.safe_load(DEPENDABOT.read_text())


def test_dependabot_passes_its_schema_and_a_broken_copy_does_not(tmp_path: Path) -> None:
    committed = DEPENDABOT.read_bytes()
    broken = tmp_path / "broken" / DEPENDABOT.name
    broken.parent.mkdir()
    broken.write_bytes(committed.replace(b"interval: weekly", b"interval: fortnightly", 1))
    assert broken.read_bytes() != committed
    for name, path, status in (("committed", DEPENDABOT, 0), ("checked broken", broken, 1)):
        completed = json_schema_check("vendor.dependabot", tmp_path / name, path)
        assert completed.returncode == status, completed.stdout + completed.stderr


def test_dependabot_watches_every_requirements_folder_and_every_composite_action() -> None:
    updates = {update["package-ecosystem"]: update for update in _dependabot()["updates"]}
    assert set(updates) == {"pip", "github-actions"}
    folders = {Path("/", name).parent.as_posix() for inputs in LOCKS.values() for name in inputs}
    assert set(updates["pip"]["directories"]) == folders == {"/", "/policy"}
    actions = {"/" + str(path.parent.relative_to(ROOT)) for path in (ROOT / ".github" / "actions").glob("*/action.yml")}
    assert actions
    assert set(updates["github-actions"]["directories"]) == {"/", *actions}
    for update in updates.values():
        assert update["schedule"]["interval"] == "weekly"
        assert update["cooldown"]["default-days"] >= 7


def test_dependabot_updates_the_pulumi_sdks_in_one_group() -> None:
    (pip,) = [update for update in _dependabot()["updates"] if update["package-ecosystem"] == "pip"]
    first, *_ = pip["groups"]  # a dependency goes to the first group that matches it
    assert first == "pulumi"
    patterns = pip["groups"]["pulumi"]["patterns"]
    names = {name for inputs in LOCKS.values() for name in _pins(*inputs)}
    sdks = {name for name in names if name.startswith(("pulumi", "pulumiverse"))}
    assert {"pulumi", "pulumi-aws", "pulumi-kubernetes", "pulumiverse-grafana", "pulumi-policy"} <= sdks
    grouped = {name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)}
    assert grouped == sdks


def _pre_commit() -> dict:
    return yaml.safe_load(PRE_COMMIT.read_text())


def test_the_pre_commit_config_is_valid_and_its_revs_are_pinned() -> None:
    tool = required_tool("pre-commit", BIN / "pre-commit")
    completed = subprocess.run([tool, "validate-config", str(PRE_COMMIT)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    remote = [repo for repo in _pre_commit()["repos"] if repo["repo"] != "local"]
    assert remote
    assert all(re.fullmatch(r"v\d+\.\d+\.\d+|[0-9a-f]{40}", repo["rev"]) for repo in remote)


def test_the_ruff_hook_is_the_ruff_of_requirements_dev() -> None:
    (ruff,) = [repo for repo in _pre_commit()["repos"] if repo["repo"].endswith("/ruff-pre-commit")]
    assert ruff["rev"] == "v" + _pins("requirements-dev.txt")["ruff"]
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff-check", "ruff-format"]


def _local_hooks() -> dict[str, dict]:
    (local,) = [repo for repo in _pre_commit()["repos"] if repo["repo"] == "local"]
    return {hook["id"]: hook for hook in local["hooks"]}


def test_the_local_hooks_run_the_checks_of_tasks_sh_test() -> None:
    hooks = _local_hooks()
    assert hooks["docs"]["entry"] == "./tasks.sh docs --check"
    assert hooks["locks"]["entry"] == "venv/bin/python -m tools.locks check"
    assert hooks["zizmor"]["entry"].startswith("venv/bin/zizmor --offline ")
    # Each tool a hook names is in venv/, installed from requirements-dev.txt.
    assert {"pre-commit", "zizmor", "pyyaml"} <= set(_pins("requirements-dev.txt"))
    locks = re.compile(hooks["locks"]["files"])
    assert all(locks.search(name) for lock, inputs in LOCKS.items() for name in (lock, *inputs))
    stacks = re.compile(hooks["stack-files"]["files"])
    assert {path.name for path in ROOT.glob("Pulumi*.yaml") if stacks.search(path.name)} == {
        path.name for path in ROOT.glob("Pulumi*.yaml")
    }


def test_the_stack_files_hook_passes_the_stack_files_and_fails_a_broken_one(tmp_path: Path) -> None:
    command = shlex.split(_local_hooks()["stack-files"]["entry"])
    command[0] = sys.executable  # venv/bin/python, this one
    files = [str(path) for path in sorted(ROOT.glob("Pulumi*.yaml"))]
    assert subprocess.run([*command, *files], capture_output=True, check=False).returncode == 0
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config:\n  a: [1, 2\n")
    completed = subprocess.run([*command, *files, str(broken)], capture_output=True, text=True, check=False)
    assert completed.returncode == 1
    assert "Pulumi.broken.yaml" in completed.stderr
