"""Benchmark: render time and memory per stack against the floor of importing the SDK alone.

    python -m offline.bench [--runs 5] [--no-suite] [--instructions]

Each figure is a fresh process, as `pulumi up` and CI start one: wall time (median and best of
``--runs``) and peak resident memory. The floor imports exactly the SDK modules and classes the
program imports (found by reading its sources), so the gap between floor and render is the program's
own cost; ``x floor`` is each median over the floor's. Wall time on a shared 2-core machine
varies by 10-20 % between runs, so ``--instructions`` also counts the CPU instructions of the
floor and of each render once under valgrind's callgrind (slow, about a minute each, but the
same count every time): the ratio a change moves, without the noise. The test suite is timed
once, as ``./tasks.sh test`` runs it.

Every command runs with a warm bytecode cache, as on an operator's machine from the second run
on: pip compiled the SDK when it installed it, and Python caches the program's own modules the
first time it runs them. The cache lives in a temporary folder (``PYTHONPYCACHEPREFIX``, filled
by one untimed run of each command), so nothing is written into the tree, and a shell that sets
``PYTHONDONTWRITEBYTECODE`` no longer makes each render recompile the program's sources while
the floor reads the SDK's cached bytecode. The hash seed is fixed so callgrind's count repeats.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Deliberately no import of offline.harness (and so of Pulumi): a forked child's peak RSS
# counts the parent's pages from before exec, so the parent must stay as small as Python itself.
ROOT = Path(__file__).resolve().parent.parent
PROGRAM_SOURCES = ("__main__.py", "components", "settings")


def sdk_imports() -> list[str]:
    """The Pulumi SDK modules the program imports, read from its own source files."""
    return sorted({statement.split()[1] for statement in sdk_import_statements()})


def sdk_import_statements() -> list[str]:
    """The program's imports of the Pulumi SDK, as statements: `from m import Class` loads the
    class (pulumi_aws loads a module's classes lazily, on first access), `import m` the module."""
    found: dict[str, set[str]] = {}
    for source in PROGRAM_SOURCES:
        path = ROOT / source
        for file in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pulumi"):
                    found.setdefault(node.module, set()).update(alias.name for alias in node.names)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.startswith("pulumi"):
                            found.setdefault(alias.name, set())
    return [
        f"from {m} import {', '.join(sorted(names))}" if names else f"import {m}" for m, names in sorted(found.items())
    ]


def environment(cache: Path) -> dict[str, str]:
    """The measured commands' environment: bytecode cached under ``cache``, fixed hash seed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(cache), "PYTHONHASHSEED": "0"}


def warm(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run once, untimed, so the bytecode cache holds every module the command imports."""
    measure(command, 1, env)


def measure(command: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[list[float], int]:
    """Wall seconds of each run, and the largest peak RSS (KiB) of any run."""
    walls, peak = [], 0
    for _ in range(runs):
        # stderr goes to a file, not a pipe: a chatty child must never block on a full pipe.
        with tempfile.TemporaryFile() as errors:
            start = time.perf_counter()
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(process.pid, 0)
            walls.append(time.perf_counter() - start)
            if os.waitstatus_to_exitcode(status) != 0:
                errors.seek(0)
                raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{errors.read().decode()}")
        peak = max(peak, usage.ru_maxrss)
    return walls, peak


def instructions(command: list[str], env: dict[str, str] | None = None) -> int:
    """CPU instructions the command executes, counted by callgrind (deterministic)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    completed = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if completed.returncode != 0 or found is None:
        raise SystemExit(f"benchmark command failed under valgrind: {' '.join(command)}\n{completed.stderr[-2000:]}")
    return int(found[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--no-suite", action="store_true", help="skip timing the test suite")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions of the floor and renders (valgrind)"
    )
    args = parser.parse_args(argv)
    python = sys.executable
    modules, statements = sdk_imports(), sdk_import_statements()
    rows = [
        ("python -c pass (interpreter only)", [python, "-c", "pass"], args.runs),
        (
            f"import SDK floor ({len(modules)} modules)",
            [python, "-c", "; ".join(statements)],
            args.runs,
        ),
        # The same imports made as __main__.py makes them: the collector paused while importing,
        # then what was imported frozen. The plain floor pays the full collections that run
        # during the import and the one at exit, which the program never pays; render over this
        # row is the program's own cost.
        (
            "import SDK floor, like the program (collector paused, then frozen)",
            [python, "-c", "; ".join(["import gc", "gc.disable()", *statements, "gc.freeze()", "gc.enable()"])],
            args.runs,
        ),
    ]
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        env = environment(Path(cache))
        rows += [
            (
                f"render {stack}",
                [python, "-m", "offline.render", "--stack", stack, "--out", f"{out}/{stack}"],
                args.runs,
            )
            for stack in sorted(path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml"))
        ]
        # The HPA simulator over a week of 15 s syncs, twice (the stack's behavior and Kubernetes'
        # defaults), imports included.
        rows.append(
            (
                "capacity simulate: a week of syncs, both behaviors",
                [
                    python,
                    "-m",
                    "capacity",
                    "simulate",
                    "prod",
                    "--scenario",
                    "diurnal",
                    "--duration",
                    "604800",
                    "--no-plot",
                    "--out",
                    f"{out}/capacity",
                ],
                args.runs,
            )
        )
        if not args.no_suite:
            rows.append(("test suite (pytest + coverage)", [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], 1))
        for label, command, _ in rows:
            if not label.startswith("test suite"):  # its modules are the renders', bar the tests
                warm(command, env)
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, warm bytecode cache;"
            f" SDK modules: {', '.join(modules)}\n"
        )
        print("| what | runs | wall median (s) | wall best (s) | x floor | x floor like program | peak RSS (MiB) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        # Round-robin, one run of each command per round: the machine's speed drifts over a
        # benchmark, and measuring the floor first and the renders last would bias the ratio.
        results: dict[str, tuple[list[float], int]] = {label: ([], 0) for label, _, _ in rows}
        for round_ in range(max(runs for _, _, runs in rows)):
            for label, command, runs in rows:
                if round_ < runs:
                    walls, peak = measure(command, 1, env)
                    results[label] = (results[label][0] + walls, max(results[label][1], peak))
        floors = [statistics.median(results[label][0]) for label, _, _ in rows if label.startswith("import SDK")]
        for label, _, runs in rows:
            walls, peak = results[label]
            median = statistics.median(walls)
            ratios = [f"{median / f:.2f}" if label.startswith(("import SDK", "render")) else "" for f in floors]
            print(f"| {label} | {runs} | {median:.2f} | {min(walls):.2f} | {' | '.join(ratios)} | {peak / 1024:.0f} |")
        if args.instructions:
            counted = [(label, command) for label, command, _ in rows if label.startswith(("import SDK", "render"))]
            print("\n| what | instructions (M) | x floor | x floor like program |\n|---|---:|---:|---:|")
            counts = [instructions(command, env) for _, command in counted]  # the two floors come first
            for (label, _), count in zip(counted, counts, strict=True):
                print(f"| {label} | {count / 1e6:.0f} | {count / counts[0]:.3f} | {count / counts[1]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
