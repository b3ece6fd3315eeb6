"""The venvs' lock files: each compiled by uv from the requirements files people edit, every package
pinned with its hashes, and the check that a lock still matches its requirements.

    python -m tools.locks compile --uv PATH [--upgrade]   what `./tasks.sh lock` runs
    python -m tools.locks compile --uv PATH --check       compile again and compare (needs PyPI)
    python -m tools.locks check                           offline: exit 1, naming each stale lock

The standard library only (and settings.paths): it runs before any venv of the program exists. A lock is one universal
resolution (`uv pip compile --universal`, Python >= PYTHON on any platform, so CI's ubuntu x86_64,
this machine and a laptop read the same file; markers pick a fork's pins) whose header records a
digest of its inputs' requirement lines and one of its own body: `check` finds a lock whose inputs
changed since `./tasks.sh lock` last ran, a pin of an input the lock does not have, a package
without a hash, an edited body, and a requirements file no lock is compiled from.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from settings.paths import ROOT

# Each lock, and the requirements files it is compiled from (in this order): one lock per venv.
LOCKS: dict[str, tuple[str, ...]] = {
    "requirements-uv.lock": ("requirements-uv.txt",),  # .tools/uv: the installer of the others
    "requirements.lock": ("requirements.txt", "requirements-dev.txt"),  # venv/, the program's
    "requirements-checkov.lock": ("requirements-checkov.txt",),  # .tools/checkov
    "requirements-mutation.lock": ("requirements-mutation.txt",),  # .tools/mutation
    "policy/requirements.lock": ("policy/requirements.txt", "policy/requirements-dev.txt"),  # policy/venv
}
# The oldest Python the locks serve: tasks.sh's minimum, and the Python of the workflows.
PYTHON = "3.11"
FIX = "./tasks.sh lock"  # what writes a lock: uv's header names it instead of its own command line
COMPILE = ("--universal", "--python-version", PYTHON, "--generate-hashes", "--custom-compile-command", FIX)

SHA = "[0-9a-f]{64}"
HEADER = re.compile(
    rf"^# Locked from (?P<inputs>.+?): inputs sha256:(?P<inputs_sha>{SHA}), body sha256:(?P<body_sha>{SHA})$"
)
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


def normalized(name: str) -> str:
    """A package name as uv writes it (PEP 503): ruamel.yaml is ruamel-yaml."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(text: str) -> list[str]:
    """A requirements file's lines that say something: comments and blank lines left out, so a
    comment edited does not make its lock stale."""
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in text.splitlines())
    return [line for line in lines if line]


def inputs_digest(root: Path, inputs: tuple[str, ...]) -> str:
    """The digest of the inputs' requirement lines, and of how they are compiled."""
    digest = hashlib.sha256(" ".join(COMPILE).encode())
    for name in inputs:
        digest.update(f"\0{name}\0".encode())
        digest.update("\n".join(requirement_lines((root / name).read_text())).encode())
    return digest.hexdigest()


def _split(text: str) -> tuple[list[str], str]:
    """(the header's comment lines, the body): the header is the comments the file starts with."""
    lines = text.splitlines(keepends=True)
    count = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return lines[:count], "".join(lines[count:])


def stamped(root: Path, lock: str, text: str) -> str:
    """uv's output with the line that records what it was compiled from after uv's header."""
    header, body = _split(text)
    header = [line for line in header if not HEADER.match(line.rstrip("\n"))]
    inputs = LOCKS[lock]
    body_sha = hashlib.sha256(body.encode()).hexdigest()
    line = f"# Locked from {' '.join(inputs)}: inputs sha256:{inputs_digest(root, inputs)}, body sha256:{body_sha}\n"
    return "".join([*header, line]) + body


def _entries(body: str) -> list[tuple[str, str, bool]]:
    """(normalized name, version, has a hash) per package of a lock's body."""
    entries: list[tuple[str, str, bool]] = []
    for line in body.splitlines():
        match = PIN.match(line)
        if match:
            entries.append((normalized(match["name"]), match["version"], False))
        elif line.strip().startswith("--hash=sha256:") and entries:
            entries[-1] = (*entries[-1][:2], True)
    return entries


def problems(root: Path = ROOT) -> list[str]:
    """What makes a lock stale, one line each (empty when every lock is current)."""
    found = []
    locked_inputs = {name for inputs in LOCKS.values() for name in inputs}
    for path in sorted([*root.glob("requirements*.txt"), *root.glob("*/requirements*.txt")]):
        name = path.relative_to(root).as_posix()
        if name not in locked_inputs and not name.startswith(("venv/", "build/")):
            found.append(f"{name} is an input of no lock: add it to LOCKS in tools/locks.py")
    for lock, inputs in LOCKS.items():
        found += _lock_problems(root, lock, inputs)
    return found


def _lock_problems(root: Path, lock: str, inputs: tuple[str, ...]) -> list[str]:
    path = root / lock
    if not path.is_file():
        return [f"{lock} is missing: run {FIX}"]
    header, body = _split(path.read_text())
    stamps = [match for line in header if (match := HEADER.match(line.rstrip("\n")))]
    if not stamps:
        return [f"{lock} was not written by {FIX} (no 'Locked from' line): run it"]
    stamp = stamps[0]
    found = []
    if stamp["inputs"] != " ".join(inputs):
        found.append(f"{lock} is locked from {stamp['inputs']}, not {' '.join(inputs)}: run {FIX}")
    elif stamp["inputs_sha"] != inputs_digest(root, inputs):
        found.append(f"{lock} is stale: {' and '.join(inputs)} changed since: run {FIX}")
    if stamp["body_sha"] != hashlib.sha256(body.encode()).hexdigest():
        found.append(f"{lock} was edited by hand after {FIX} wrote it: run it again")
    entries = _entries(body)
    versions: dict[str, set[str]] = {}
    for name, version, _ in entries:
        versions.setdefault(name, set()).add(version)
    for name in inputs:
        for line in requirement_lines((root / name).read_text()):
            match = PIN.match(line)
            if not match:
                continue  # an option line (--only-binary ...): part of the digest only
            package, version = normalized(match["name"]), match["version"]
            if version not in versions.get(package, set()):
                has = ", ".join(sorted(versions.get(package, set()))) or "nothing"
                found.append(f"{lock} has {package} {has}, {name} pins {version}: run {FIX}")
    found += [f"{lock} pins {name}=={version} without a hash" for name, version, hashed in entries if not hashed]
    return found


def compile_locks(uv: str, root: Path = ROOT, upgrade: bool = False, check: bool = False) -> list[str]:
    """Compile every lock with uv (into place, or with check=True into a scratch folder, then
    compared): the locks that differ, for check=True. The current lock is uv's preference, so a
    pin changes only when its requirements ask for it (or with upgrade=True)."""
    differ = []
    with tempfile.TemporaryDirectory() as scratch:
        for lock, inputs in LOCKS.items():
            target = root / lock
            out = Path(scratch) / lock if check else target
            out.parent.mkdir(parents=True, exist_ok=True)
            if check and target.is_file():
                shutil.copyfile(target, out)
            print(f"locking {' and '.join(inputs)} into {lock}", file=sys.stderr)
            command = [uv, "pip", "compile", "--quiet", *COMPILE, *inputs, "--output-file", str(out)]
            subprocess.run([*command, *(["--upgrade"] if upgrade else [])], cwd=root, check=True)
            text = stamped(root, lock, out.read_text())
            if not check:
                out.write_text(text)
            elif not target.is_file() or target.read_text() != text:
                differ.append(lock)
    return differ


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="./tasks.sh lock", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    compiling = commands.add_parser("compile", help="compile every lock from its requirements with uv")
    compiling.add_argument("--uv", required=True, help="the uv executable")
    compiling.add_argument("--upgrade", action="store_true", help="the newest versions the requirements allow")
    compiling.add_argument("--check", action="store_true", help="compile into a scratch folder and compare")
    commands.add_parser("check", help="offline: fail when a lock does not match its requirements")
    args = parser.parse_args(argv)
    if args.command == "check":
        found = problems(root)
        for line in found:
            print(f"error: {line}", file=sys.stderr)
        return 1 if found else 0
    differ = compile_locks(args.uv, root, upgrade=args.upgrade, check=args.check)
    for lock in differ:
        print(f"error: {lock} differs from what uv compiles from its requirements: run {FIX}", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
