"""`./tasks.sh` as a new user meets it: the first run says what it sets up, a warm run is silent and
starts no pip, PYTHON picks the interpreter even once a venv exists, `help` is not an error.

Each test runs the real script, copied into a scratch repository whose requirements are a few
made-up names, its `offline.render` a stub, and whose Python makes venvs with a stub pip that
logs its arguments instead of installing: no network, and milliseconds instead of ensurepip's
seconds per venv. The venvs are real (`python -m venv`), so pyvenv.cfg is what venv writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from settings.paths import ROOT

SITE = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
# What venv writes as `executable`, and what tasks.sh reads from the Python it runs.
REAL = os.path.realpath(sys.executable)
VERSION = ".".join(map(str, sys.version_info[:3]))
OTHER = "/opt/python3.12/bin/python3.12"  # an interpreter some other run made venv/ with

STUB_PIP = """import os, sys
with open(os.environ["TASKS_TEST_PIP_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
print("stub pip:", *sys.argv[1:])
"""

# The real interpreter, except that `-m venv` makes the venv without pip and puts the stub in.
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = -m ] && [ "$2" = venv ]; then
  shift 2
  for venv; do :; done
  "{real}" -m venv --without-pip "$@" || exit
  cp -R "{stub}" "$venv/{site}/pip"
  exit
fi
exec "{real}" "$@"
"""


@dataclass
class Repo:
    root: Path
    python: Path  # the fake Python, also first on PATH as python3
    env: dict[str, str]

    def run(self, *args: str, python: str | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if python is not None:
            env["PYTHON"] = python
        # From another folder, as `sub/tasks.sh` would be: the script finds its own files.
        return subprocess.run(
            [str(self.root / "tasks.sh"), *args],
            cwd=self.root.parent,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def pip_calls(self) -> list[str]:
        log = Path(self.env["TASKS_TEST_PIP_LOG"])
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return calls

    def set_cfg(self, **values: str | None) -> None:
        """Rewrites keys of venv/pyvenv.cfg (None drops the key), as another Python would have written it."""
        cfg = self.root / "venv" / "pyvenv.cfg"
        lines = [line for line in cfg.read_text().splitlines() if line.split(" = ")[0] not in values]
        lines += [f"{key} = {value}" for key, value in values.items() if value is not None]
        cfg.write_text("\n".join(lines) + "\n")

    def cfg(self, key: str) -> str:
        for line in (self.root / "venv" / "pyvenv.cfg").read_text().splitlines():
            if line.startswith(f"{key} = "):
                return line.split(" = ", 1)[1]
        return ""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    (root / "offline").mkdir(parents=True)
    shutil.copy(ROOT / "tasks.sh", root / "tasks.sh")
    (root / "requirements.txt").write_text("# runtime\nprobe-a==1.0\n\nprobe-b==2.0  # why\n")
    (root / "requirements-dev.txt").write_text("--only-binary :all:\nprobe-c==3.0\n")
    (root / "offline" / "__init__.py").write_text("")
    (root / "offline" / "render.py").write_text("import sys\nprint('rendered', *sys.argv[1:])\n")
    stub = tmp_path / "stub-pip"
    stub.mkdir()
    (stub / "__init__.py").write_text("")
    (stub / "__main__.py").write_text(STUB_PIP)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON.format(real=sys.executable, stub=stub, site=SITE))
    python.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "PYTHON" and not key.startswith("COV_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["TASKS_TEST_PIP_LOG"] = str(tmp_path / "pip.log")
    return Repo(root, python, env)


@pytest.fixture
def warm(repo: Repo) -> Repo:
    """The scratch repository after its first `render`: venv/ set up."""
    assert repo.run("render").returncode == 0
    repo.pip_calls()
    return repo


def test_a_first_run_says_what_it_sets_up_and_lets_pip_show_its_progress(repo: Repo) -> None:
    completed = repo.run("render")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "rendered --stack dev\n"  # pip's output kept off stdout
    lines = completed.stderr.splitlines()
    assert lines[:1] == [f"creating venv/ with Python {VERSION} ({REAL})"]
    assert re.fullmatch(
        r"installing requirements\.txt \(2 packages\) and requirements-dev\.txt \(1 package\) into venv/ with "
        r"their dependencies, about \d+ s for a first install \(longer on a busy machine\)",
        lines[1],
    ), lines[1]
    assert lines[2].startswith("pip's progress follows; ")
    # pip's own lines follow, not silenced: no --quiet.
    install = "install --disable-pip-version-check -r requirements.txt -r requirements-dev.txt"
    assert lines[3:] == [f"stub pip: {install}"]
    assert repo.pip_calls() == [install]
    assert (repo.root / "venv" / ".requirements.sha256").is_file()


@pytest.mark.parametrize("python", [None, "python3"], ids=["PYTHON unset", "PYTHON set to the venv's own"])
def test_a_warm_run_prints_nothing_and_starts_no_pip(warm: Repo, python: str | None) -> None:
    completed = warm.run("render", python=python)
    assert (completed.returncode, completed.stderr) == (0, "")
    assert warm.pip_calls() == []


def test_changed_requirements_are_installed_into_the_same_venv(warm: Repo) -> None:
    (warm.root / "requirements.txt").write_text("probe-a==1.1\n")
    completed = warm.run("render")
    assert completed.returncode == 0, completed.stderr
    first = completed.stderr.splitlines()[0]
    assert first.startswith("installing requirements.txt (1 package) and requirements-dev.txt (1 package) into venv/")
    assert first.endswith("an update: only what is missing or changed")
    assert [call.split()[0] for call in warm.pip_calls()] == ["--version", "install"]
    assert warm.run("render").stderr == ""


def test_a_venv_left_without_pip_by_an_interrupted_set_up_is_recreated(warm: Repo) -> None:
    (warm.root / "venv" / ".requirements.sha256").unlink()
    shutil.rmtree(warm.root / "venv" / SITE / "pip")
    completed = warm.run("render")
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.splitlines()[:1] == [
        f"recreating venv/ (it has no working pip: an interrupted set-up?), now with Python {VERSION} ({REAL})"
    ]
    assert warm.pip_calls()[-1].startswith("install ")


@pytest.mark.parametrize(
    ("cfg", "made_with"),
    [
        ({"version": "3.12.1", "executable": OTHER}, f"3.12.1, {OTHER}"),
        # A pyvenv.cfg without `executable` (venv before 3.11 wrote none): told apart by version.
        ({"version": "3.10.13", "executable": None}, "3.10.13"),
    ],
    ids=["another executable", "another version"],
)
def test_python_set_to_another_interpreter_rebuilds_the_venv_for_it(
    warm: Repo, cfg: dict[str, str | None], made_with: str
) -> None:
    warm.set_cfg(**cfg)
    completed = warm.run("render", python=str(warm.python))
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.splitlines()[:1] == [
        f"recreating venv/ for PYTHON={warm.python} (it was made with Python {made_with}), "
        f"now with Python {VERSION} ({REAL})"
    ]
    assert (warm.cfg("version"), warm.cfg("executable")) == (VERSION, REAL)
    assert warm.pip_calls()[-1].startswith("install ")
    assert warm.run("render", python=str(warm.python)).stderr == ""


def test_python_unset_keeps_the_venv_whatever_made_it(warm: Repo) -> None:
    # The default python3 does not undo an earlier PYTHON=... choice.
    warm.set_cfg(executable=OTHER)
    completed = warm.run("render")
    assert (completed.returncode, completed.stderr) == (0, "")
    assert warm.cfg("executable") == OTHER


def test_python_older_than_3_11_is_refused_before_anything_is_made(repo: Repo, tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\nexit 1\n")
    old.chmod(0o755)
    completed = repo.run("render", python=str(old))
    assert completed.returncode == 2
    assert completed.stderr == f"error: {old} is not Python >= 3.11 (set PYTHON=/path/to/python3.11 or newer)\n"
    assert not (repo.root / "venv").exists()


def _verbs() -> set[str]:
    """The commands tasks.sh's `case` handles, read from the script."""
    labels = re.findall(r"^  ([a-z][a-z |-]*)\)$", (ROOT / "tasks.sh").read_text(), re.MULTILINE)
    return {verb.strip() for label in labels for verb in label.split("|")} - {"-h", "--help"}


def test_help_succeeds_and_lists_every_command(repo: Repo) -> None:
    completed = repo.run("help")
    assert (completed.returncode, completed.stderr) == (0, "")
    listed = set(re.findall(r"^  \./tasks\.sh (\w+)", completed.stdout, re.MULTILINE))
    assert listed == _verbs()
    assert "help" in listed
    assert repo.run("--help").stdout == completed.stdout


@pytest.mark.parametrize("args", [["nope"], []], ids=["unknown command", "no command"])
def test_a_wrong_command_fails_with_the_usage_on_stderr(repo: Repo, args: list[str]) -> None:
    completed = repo.run(*args)
    assert (completed.returncode, completed.stdout) == (2, "")
    first, *usage = completed.stderr.splitlines()
    assert first == ("error: unknown command 'nope'" if args else "error: no command given")
    assert "\n".join(usage) + "\n" == repo.run("help").stdout


# A stand-in for each generator `docs` runs: it writes, or with --check fails naming its document
# unless a marker says the document is fresh, as the real ones do when the committed file is stale.
STUB_GENERATOR = """import pathlib, sys
if sys.argv[1:] != ["--check"]:
    print("wrote {document}")
elif not pathlib.Path("{module}.fresh").exists():
    sys.exit("error: {document} is stale: run ./tasks.sh docs")
"""
GENERATED = {"rotation_policy": "docs/security/SECRETS_ROTATION_POLICY.md", "settings_reference": "docs/settings.md"}


def test_docs_writes_every_generated_document_and_its_check_names_each_stale_one(warm: Repo) -> None:
    (warm.root / "tools").mkdir()
    (warm.root / "tools" / "__init__.py").write_text("")
    for module, document in GENERATED.items():
        (warm.root / "tools" / f"{module}.py").write_text(STUB_GENERATOR.format(module=module, document=document))
    written = warm.run("docs")
    assert (written.returncode, written.stdout) == (0, "".join(f"wrote {doc}\n" for doc in GENERATED.values()))
    stale = warm.run("docs", "--check")
    assert (stale.returncode, stale.stdout) == (1, "")
    assert stale.stderr.splitlines() == [f"error: {doc} is stale: run ./tasks.sh docs" for doc in GENERATED.values()]
    (warm.root / "rotation_policy.fresh").touch()
    one_stale = warm.run("docs", "--check")
    assert (one_stale.returncode, one_stale.stderr) == (1, "error: docs/settings.md is stale: run ./tasks.sh docs\n")
    (warm.root / "settings_reference.fresh").touch()
    assert warm.run("docs", "--check").returncode == 0
