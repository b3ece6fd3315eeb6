"""The results of slow external tools, kept by what they read, as mypy and ruff keep theirs.

A tool's run is a pure function of its inputs: the files it scans, its command line and its own
installed version. ``run_kept`` keys the output by all three and reuses it while none changed, so
a warm suite does not scan identical files again; any change to a scanned file, the command or the
tool's packages runs the tool for real. A fresh clone (CI) has no kept results and runs every tool.
``KEEP_TOOL_RESULTS=false`` runs them regardless.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from offline.harness import ROOT

KEPT = ROOT / "build" / "tool-results"


def _digest(command: list[str], cwd: Path, environment: Path) -> str:
    digest = hashlib.sha256(json.dumps(command).encode())
    # The tool's own version and its dependencies': every package installed in its environment.
    for installed in sorted(environment.glob("lib/python*/site-packages/*.dist-info")):
        digest.update(installed.name.encode())
    for path in sorted(p for p in cwd.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(cwd)).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def run_kept(command: list[str], cwd: Path, environment: Path) -> subprocess.CompletedProcess:
    """``command`` run in ``cwd`` (which must hold everything it reads, named relative to it), or
    its kept result for the same command, files and installed packages of ``environment``."""
    keep = os.environ.get("KEEP_TOOL_RESULTS", "true").lower() != "false"
    kept = KEPT / f"{Path(command[0]).name}-{_digest(command, cwd, environment)}.json"
    if keep and kept.is_file():
        saved = json.loads(kept.read_text(encoding="utf-8"))
        return subprocess.CompletedProcess(command, saved["returncode"], saved["stdout"], saved["stderr"])
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if keep:
        KEPT.mkdir(parents=True, exist_ok=True)
        saved = {"returncode": completed.returncode, "stdout": completed.stdout, "stderr": completed.stderr}
        partial = kept.with_suffix(f".{os.getpid()}.partial")  # two workers never see half a file
        partial.write_text(json.dumps(saved), encoding="utf-8")
        partial.replace(kept)
    return completed
