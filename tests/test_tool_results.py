"""A kept tool result is reused only for the same command, files, environment and tool: a venv's
packages for a Python tool, the executable's bytes for a standalone one; any change runs it again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tool_results
from tool_results import identity, run_kept

# Counts its real runs in a file outside the scanned folder, prints what it scanned and MODE, and
# fails (on stderr) when a scanned file says "bad": a planted violation. Shell builtins only, so it
# runs in an empty environment and costs a millisecond, not a Python's start.
TOOL = """
read -r n < "$1"; echo $((${n:-0} + 1)) > "$1"
for f in *; do echo "$f"; done
echo "MODE=${MODE-unset}"
for f in *; do
  while read -r line; do case $line in *bad*) echo "bad: $f" >&2; exit 1;; esac; done < "$f"
done
"""
PACKAGES = Path("lib", "python3.11", "site-packages")


class Scan:
    """A scanned folder, a fake venv, the counter of real runs, and an executable script."""

    def __init__(self, root: Path) -> None:
        self.folder, self.venv, self.counter, self.bin = root / "scan", root / "venv", root / "runs", root / "bin"
        (self.venv / PACKAGES / "tool-1.0.dist-info").mkdir(parents=True)
        (self.venv / "pyvenv.cfg").write_text("version = 3.11.7\n")
        self.folder.mkdir()
        (self.folder / "a.yaml").write_text("a: 1\n")
        self.counter.write_text("")
        self.bin.mkdir()

    @property
    def runs(self) -> int:
        return int(self.counter.read_text() or 0)

    def script(self, name: str, version: str) -> Path:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n# version {version}\n{TOOL}")
        path.chmod(0o755)
        return path


@pytest.fixture
def scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scan]:
    monkeypatch.setattr(tool_results, "KEPT", tmp_path / "kept")
    monkeypatch.delenv("KEEP_TOOL_RESULTS", raising=False)
    identity.cache_clear()
    yield Scan(tmp_path)
    identity.cache_clear()


def _a_new_process() -> None:
    # A tool's identity is computed once per process: a changed tool is seen by the next suite.
    identity.cache_clear()


def test_the_same_inputs_reuse_the_result_and_any_change_runs_the_tool(scan: Scan) -> None:
    command = ["/bin/sh", "-c", TOOL, "tool", str(scan.counter)]
    first = run_kept(command, scan.folder, scan.venv)
    assert (first.returncode, first.stdout, first.stderr, scan.runs) == (0, "a.yaml\nMODE=unset\n", "", 1)
    again = run_kept(command, scan.folder, scan.venv)
    assert (again.returncode, again.stdout, again.stderr, scan.runs) == (0, first.stdout, "", 1)  # kept
    (scan.folder / "a.yaml").write_text("a: 2\n")  # a scanned file's content
    run_kept(command, scan.folder, scan.venv)
    assert scan.runs == 2
    (scan.folder / "b.yaml").write_text("b: 1\n")  # a new file
    assert run_kept(command, scan.folder, scan.venv).stdout == "a.yaml\nb.yaml\nMODE=unset\n"
    assert scan.runs == 3
    (scan.folder / "b.yaml").rename(scan.folder / "c.yaml")  # a file's name
    assert run_kept(command, scan.folder, scan.venv).stdout == "a.yaml\nc.yaml\nMODE=unset\n"
    assert scan.runs == 4
    run_kept([*command, "--another-option"], scan.folder, scan.venv)  # the command
    assert scan.runs == 5
    run_kept(command, scan.folder, scan.venv)  # back to a state already seen: kept
    assert scan.runs == 5


def test_a_planted_violation_runs_the_tool_and_its_failure_is_kept_as_a_failure(scan: Scan) -> None:
    command = ["/bin/sh", "-c", TOOL, "tool", str(scan.counter)]
    assert run_kept(command, scan.folder, scan.venv).returncode == 0
    (scan.folder / "a.yaml").write_text("a: bad\n")
    for runs in (2, 2):  # the first really, the second kept
        broken = run_kept(command, scan.folder, scan.venv)
        assert (broken.returncode, broken.stderr, scan.runs) == (1, "bad: a.yaml\n", runs)


def test_a_changed_venv_runs_the_tool(scan: Scan) -> None:
    command = ["/bin/sh", "-c", TOOL, "tool", str(scan.counter)]
    run_kept(command, scan.folder, scan.venv)
    packages = scan.venv / PACKAGES
    (packages / "tool-1.0.dist-info").rename(packages / "tool-1.1.dist-info")  # the tool upgraded
    _a_new_process()
    run_kept(command, scan.folder, scan.venv)
    assert scan.runs == 2
    (packages / "dependency-2.0.dist-info").mkdir()  # a dependency installed
    _a_new_process()
    run_kept(command, scan.folder, scan.venv)
    assert scan.runs == 3
    (packages / "editable.pth").write_text("/somewhere\n")  # an import path
    _a_new_process()
    run_kept(command, scan.folder, scan.venv)
    (packages / "editable.pth").write_text("/elsewhere\n")
    _a_new_process()
    run_kept(command, scan.folder, scan.venv)
    assert scan.runs == 5
    (scan.venv / "pyvenv.cfg").write_text("version = 3.11.8\n")  # its Python
    _a_new_process()
    run_kept(command, scan.folder, scan.venv)
    assert scan.runs == 6
    _a_new_process()
    run_kept(command, scan.folder, scan.venv)  # nothing changed: kept
    assert scan.runs == 6


def test_an_executable_is_known_by_the_bytes_it_resolves_to(scan: Scan) -> None:
    # As /usr/bin/promtool: the command names a link, the key hashes what it points at.
    link = scan.bin / "tool"
    link.symlink_to(scan.script("tool-1.0", "1.0"))
    command = [str(link), str(scan.counter)]
    assert run_kept(command, scan.folder, link).stdout == "a.yaml\nMODE=unset\n"
    _a_new_process()
    run_kept(command, scan.folder, link)
    assert scan.runs == 1  # kept
    link.unlink()
    link.symlink_to(scan.script("tool-1.1", "1.1"))  # the link moved to another version
    _a_new_process()
    run_kept(command, scan.folder, link)
    assert scan.runs == 2
    scan.script("tool-1.1", "1.1, patched")  # the same file rewritten in place
    _a_new_process()
    run_kept(command, scan.folder, link)
    assert scan.runs == 3
    (scan.folder / "a.yaml").write_text("a: bad\n")  # an input, as for any tool
    assert run_kept(command, scan.folder, link).returncode == 1
    assert scan.runs == 4


def test_the_environment_given_is_the_tools_whole_environment_and_part_of_the_key(
    scan: Scan, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = ["/bin/sh", "-c", TOOL, "tool", str(scan.counter)]
    monkeypatch.setenv("MODE", "from-the-shell")
    assert run_kept(command, scan.folder, scan.venv, environ={}).stdout == "a.yaml\nMODE=unset\n"
    assert run_kept(command, scan.folder, scan.venv, environ={"MODE": "x"}).stdout == "a.yaml\nMODE=x\n"
    assert scan.runs == 2
    assert run_kept(command, scan.folder, scan.venv, environ={"MODE": "y"}).stdout == "a.yaml\nMODE=y\n"
    assert scan.runs == 3
    run_kept(command, scan.folder, scan.venv, environ={"MODE": "x"})
    assert scan.runs == 3  # kept
    # None: the shell's environment, which the key does not cover.
    assert run_kept(command, scan.folder, scan.venv).stdout == "a.yaml\nMODE=from-the-shell\n"
    assert scan.runs == 4


def test_a_tool_of_unknown_identity_is_never_kept(scan: Scan) -> None:
    command = ["/bin/sh", "-c", TOOL, "tool", str(scan.counter)]
    (scan.venv / "pyvenv.cfg").unlink()  # a folder, not a venv: nothing says what the tool is
    for missing in (scan.venv, scan.bin / "missing"):
        run_kept(command, scan.folder, missing)
        run_kept(command, scan.folder, missing)
    assert scan.runs == 4
    assert not (scan.folder.parent / "kept").exists()


def test_keeping_can_be_turned_off(scan: Scan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEP_TOOL_RESULTS", "false")
    command = ["/bin/sh", "-c", TOOL, "tool", str(scan.counter)]
    run_kept(command, scan.folder, scan.venv)
    run_kept(command, scan.folder, scan.venv)
    assert scan.runs == 2
    assert not (scan.folder.parent / "kept").exists()
