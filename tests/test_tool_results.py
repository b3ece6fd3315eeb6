"""A kept tool result is reused only for the same command, files and installed packages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import tool_results
from tool_results import run_kept

# Counts its real runs in a file outside the scanned folder, and prints what it scanned.
TOOL = (
    "import pathlib, sys; c = pathlib.Path(sys.argv[1]); c.write_text(str(int(c.read_text() or 0) + 1)); "
    "print(sorted(p.name for p in pathlib.Path('.').iterdir()))"
)


@pytest.fixture
def scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    monkeypatch.setattr(tool_results, "KEPT", tmp_path / "kept")
    monkeypatch.delenv("KEEP_TOOL_RESULTS", raising=False)
    folder, environment, counter = tmp_path / "scan", tmp_path / "env", tmp_path / "runs"
    (environment / "lib" / "python3.11" / "site-packages" / "tool-1.0.dist-info").mkdir(parents=True)
    folder.mkdir()
    (folder / "a.yaml").write_text("a: 1\n")
    counter.write_text("")
    return folder, environment, counter


def _runs(counter: Path) -> int:
    return int(counter.read_text() or 0)


def test_the_same_inputs_reuse_the_result_and_any_change_runs_the_tool(scanned: tuple[Path, Path, Path]) -> None:
    folder, environment, counter = scanned
    command = [sys.executable, "-c", TOOL, str(counter)]
    first = run_kept(command, folder, environment)
    assert (first.returncode, first.stdout, _runs(counter)) == (0, "['a.yaml']\n", 1)
    assert run_kept(command, folder, environment).stdout == first.stdout
    assert _runs(counter) == 1  # kept
    (folder / "a.yaml").write_text("a: 2\n")  # a scanned file's content
    run_kept(command, folder, environment)
    assert _runs(counter) == 2
    (folder / "b.yaml").write_text("b: 1\n")  # a new file
    assert run_kept(command, folder, environment).stdout == "['a.yaml', 'b.yaml']\n"
    assert _runs(counter) == 3
    (environment / "lib" / "python3.11" / "site-packages" / "tool-1.0.dist-info").rename(
        environment / "lib" / "python3.11" / "site-packages" / "tool-1.1.dist-info"
    )  # the tool upgraded
    run_kept(command, folder, environment)
    assert _runs(counter) == 4
    run_kept([*command, "--another-option"], folder, environment)
    assert _runs(counter) == 5


def test_keeping_can_be_turned_off(scanned: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, environment, counter = scanned
    monkeypatch.setenv("KEEP_TOOL_RESULTS", "false")
    command = [sys.executable, "-c", TOOL, str(counter)]
    run_kept(command, folder, environment)
    run_kept(command, folder, environment)
    assert _runs(counter) == 2
    assert not (folder.parent / "kept").exists()
