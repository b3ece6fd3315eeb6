"""The results of slow external tools, kept by what they read, as mypy and ruff keep theirs.

A tool's run is a pure function of its inputs: the files it reads, its command line, its
environment and the tool itself. ``run_kept`` keys the output by all of them and reuses it while
none changed, so a warm suite does not run a tool again over identical files; any change to a read
file, the command, the environment given or the tool runs it for real. What versions a tool is
named by ``versioned_by``: a Python tool's venv (its Python and every package installed in it, the
data they ship included: check-jsonschema's builtin schemas are its package's) or a standalone
program's executable (the bytes it resolves to: /usr/bin/promtool). A fresh clone (CI) has no kept
results and runs every tool. ``KEEP_TOOL_RESULTS=false`` runs them regardless.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from offline.harness import ROOT

KEPT = ROOT / "build" / "tool-results"


@functools.cache
def identity(versioned_by: Path) -> str | None:
    """What the tool is, computed once per process (no tool changes under a running suite): for a
    venv, its ``pyvenv.cfg`` (the Python's version) and every installed distribution's name and
    version, with the ``.pth`` files that change what its Python imports; for an executable, the
    sha256 of the bytes it resolves to (through symlinks such as Debian's alternatives). None when
    ``versioned_by`` is neither: such a tool is run every time, never kept."""
    if versioned_by.is_dir():
        config = versioned_by / "pyvenv.cfg"
        if not config.is_file():
            return None
        digest = hashlib.sha256(config.read_bytes())
        for pattern in ("*.dist-info", "*.egg-info", "*.pth"):
            for installed in sorted(versioned_by.glob(f"lib/python*/site-packages/{pattern}")):
                digest.update(b"\0" + str(installed.relative_to(versioned_by)).encode())
                if installed.is_file():
                    digest.update(b"\0" + installed.read_bytes())
        return "venv:" + digest.hexdigest()
    if versioned_by.is_file():
        with versioned_by.resolve().open("rb") as executable:
            return "executable:" + hashlib.file_digest(executable, "sha256").hexdigest()
    return None


def _digest(command: list[str], cwd: Path, tool: str, environ: Mapping[str, str] | None) -> str:
    header = {"command": command, "tool": tool, "environ": None if environ is None else dict(sorted(environ.items()))}
    digest = hashlib.sha256(json.dumps(header).encode())
    for path in sorted(p for p in cwd.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(cwd)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run_kept(
    command: list[str], cwd: Path, versioned_by: Path, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``command`` run in ``cwd`` (which must hold every file it reads, named relative to it), or
    its kept result for the same command, files, tool (``identity(versioned_by)``) and environment.

    ``environ`` is the tool's whole environment, and part of the key; None runs it in this process's
    environment, which the key does not cover (for a tool that reads nothing there that matters)."""
    keep = os.environ.get("KEEP_TOOL_RESULTS", "true").lower() != "false"
    tool = identity(versioned_by) if keep else None
    env = None if environ is None else dict(environ)
    if tool is None:
        return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    kept = KEPT / f"{Path(command[0]).name}-{_digest(command, cwd, tool, environ)}.json"
    if kept.is_file():
        saved = json.loads(kept.read_text(encoding="utf-8"))
        return subprocess.CompletedProcess(command, saved["returncode"], saved["stdout"], saved["stderr"])
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    KEPT.mkdir(parents=True, exist_ok=True)
    saved = {"returncode": completed.returncode, "stdout": completed.stdout, "stderr": completed.stderr}
    partial = kept.with_suffix(f".{os.getpid()}.partial")  # two workers never see half a file
    partial.write_text(json.dumps(saved), encoding="utf-8")
    partial.replace(kept)
    return completed
