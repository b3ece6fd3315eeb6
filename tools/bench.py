"""Benchmark: render time and memory per stack against the floor of importing the SDK alone.

    python -m tools.bench [--runs 5] [--no-suite] [--suite-runs 1] [--instructions] [--fresh]

Each figure is a fresh process, as `pulumi up` and CI start one: wall time (median and best of
``--runs``) and peak resident memory. The floor imports exactly the SDK modules and classes the
program imports (found by reading its sources), so the gap between floor and render is the program's
own cost; ``x floor`` is each median over the floor's. Wall time on a shared 2-core machine
varies by 10-20 % between runs, so ``--instructions`` also counts the CPU instructions of the
floor and of each render once under valgrind's callgrind (slow, about a minute each, but the
same count every time): the ratio a change moves, without the noise. The test suite is timed
warm, as a developer runs ``./tasks.sh test`` (lint, format check, pytest with the type checks and
the policy pack's tests among its tests), with its 15 slowest tests listed (the first run's), and with
``--cov``, as CI runs it: once each, or ``--suite-runs`` times for a median. Each row also
gives the CPU time (user + sys, the command's and its children's) and the load the rest of the
machine put on it meanwhile (the CPU seconds other processes used per second, from /proc/stat),
since the cores are shared. Last, each target (``TARGETS``: the warm suite, a fresh clone's suite,
the diff, a render's instructions) beside what this benchmark measured, and whether it is met.

A command that fails does not stop the benchmark: it becomes a row of its own (the command, its exit
code, and for pytest the failing tests' ids read from its short test summary, else its last line),
is not run again, every other row is still measured and printed, and the benchmark exits 1.

Every command runs with a warm bytecode cache, as on an operator's machine from the second run
on: Python caches the bytecode of the SDK's modules and the program's own the first time it runs
them (uv installs without compiling). The cache lives in a temporary folder (``PYTHONPYCACHEPREFIX``, filled
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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Deliberately no import of offline.harness (and so of Pulumi): a forked child's peak RSS
# counts the parent's pages from before exec, so the parent must stay as small as Python itself.
from settings.paths import ROOT

PROGRAM_SOURCES = ("__main__.py", "components", "settings")
# How the floor's row and the renders' rows are labelled, and so found: the rows divided by the
# floor, counted under valgrind, judged on instructions.
FLOOR = "import SDK floor"
RENDER = "render "


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


class CommandFailedError(Exception):
    """A measured command exited non-zero: the command, its exit code, the failing pytest ids
    (read from its output) and the end of what it printed."""

    def __init__(self, command: list[str], code: int, output: str) -> None:
        self.command, self.code, self.output = command, code, output
        self.tests = failed_tests(output)
        super().__init__(f"benchmark command failed (exit {code}): {' '.join(command)}")

    def summary(self) -> str:
        """One line for the table: the failing tests, else the last line the command printed."""
        if self.tests:
            return "failed: " + ", ".join(f"`{test}`" for test in self.tests)
        last = next((line.strip() for line in reversed(self.output.splitlines()) if line.strip()), "")
        return f"last output: {last[:200]}" if last else "no output"


# pytest's short test summary (`-rfE`, its default): `FAILED <node id>[ - message]` and `ERROR
# <node id or file>[ - message]`, after the `= short test summary info =` rule.
_SUMMARY_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)")


def failed_tests(output: str) -> list[str]:
    """The node ids of the failed and erroring tests in pytest's short test summary, in order.
    A parametrized id may hold spaces and ` - ` (``test_x[dev-in a month]``): the id runs to the
    bracket that closes its parameters, the rest of the line is pytest's message."""
    found: list[str] = []
    in_summary = False
    for line in output.splitlines():
        if re.match(r"^=+ short test summary info =+$", line):
            in_summary = True
            continue
        if in_summary and line.startswith("="):
            in_summary = False  # the closing `= N failed, M passed in ... =` line
        if not in_summary or _SUMMARY_LINE.match(line) is None:
            continue
        rest = line.split(" ", 1)[1]
        end = _node_id_end(rest)
        if rest[:end] not in found:
            found.append(rest[:end])
    return found


def _node_id_end(text: str) -> int:
    """Where the node id at the start of ``text`` ends: at the first space outside its brackets."""
    depth = 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0 and text[index + 1 : index + 2] in ("", " "):
                return index + 1
        elif char == " " and depth == 0:
            return index
    return len(text)


@dataclass
class Run:
    """One run of a command: wall seconds, CPU seconds (user + sys, the command and every process
    it waited for), peak RSS (KiB), the CPU seconds the rest of the machine used meanwhile (all busy
    time in /proc/stat minus the command's own: the load it was measured under), what it printed."""

    wall: float
    cpu: float
    peak: int
    others: float | None
    output: str = ""


def busy_seconds() -> float | None:
    """CPU seconds all processes on the machine have spent busy since boot (None off Linux)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal, *_ = (int(f) for f in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run_once(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``command`` once; raises CommandFailedError (with what it printed) when it exits non-zero."""
    # Output goes to a file, not a pipe: a chatty child must never block on a full pipe.
    with tempfile.TemporaryFile() as output:
        before = busy_seconds()
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        after = busy_seconds()
        cpu = usage.ru_utime + usage.ru_stime
        code = os.waitstatus_to_exitcode(status)
        output.seek(0)
        printed = output.read().decode(errors="replace")
    if code != 0:
        raise CommandFailedError(command, code, printed)
    others = None if before is None or after is None else max(0.0, after - before - cpu)
    return Run(wall, cpu, usage.ru_maxrss, others, printed)


def measure(command: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[list[float], int]:
    """Wall seconds of each run, and the largest peak RSS (KiB) of any run."""
    done = [run_once(command, env) for _ in range(runs)]
    return [r.wall for r in done], max(r.peak for r in done)


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
        raise CommandFailedError(command, completed.returncode, completed.stdout + completed.stderr)
    return int(found[1])


def slowest_tests(output: str) -> list[str]:
    """The lines of pytest's ``--durations`` section (``1.23s call  tests/...``), slowest first."""
    lines, inside = [], False
    for line in output.splitlines():
        if re.match(r"^=+ slowest \d+ durations =+$", line):
            inside = True
        elif inside and (line.startswith("=") or not line.strip()):
            break
        elif inside and re.match(r"^\d+(\.\d+)?s ", line):
            lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--no-suite", action="store_true", help="skip timing the test suite")
    parser.add_argument(
        "--suite-runs",
        type=int,
        default=1,
        help="runs of the warm suite, with and without coverage (default 1; a median wants 3 or more)",
    )
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions of the floor and renders (valgrind)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="also time ./tasks.sh test on a fresh clone, installs included (minutes)"
    )
    args = parser.parse_args(argv)
    for option, value in (("--runs", args.runs), ("--suite-runs", args.suite_runs)):
        if value < 1:
            parser.error(f"{option} must be at least 1, not {value}")
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    python = sys.executable
    modules, statements = sdk_imports(), sdk_import_statements()
    rows = [
        ("python -c pass (interpreter only)", [python, "-c", "pass"], args.runs),
        (
            f"{FLOOR} ({len(modules)} modules)",
            [python, "-c", "; ".join(statements)],
            args.runs,
        ),
    ]
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        env = environment(Path(cache))
        rows += [
            (
                f"{RENDER}{stack}",
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
        rows += diff_rows(python, Path(out), args.runs)
        if not args.no_suite:
            # As a developer runs it, warm: the venvs set up (nothing installed), the SDKs' bytecode
            # cached by an earlier run, the shell's own environment. Lint, format check, then the tests on
            # every core (the type checks and the policy pack's own tests among them); then with coverage, as in CI.
            suite = ["./tasks.sh", "test", "-p", "no:cacheprovider", f"--durations={SLOWEST}"]
            rows.append((SUITE, suite, args.suite_runs))
            rows.append((SUITE_COVERAGE, ["./tasks.sh", "test", "--cov", "-p", "no:cacheprovider"], args.suite_runs))
        if args.fresh:
            rows.append((FRESH, fresh_clone_test(Path(out) / "fresh"), 1))
        return report(rows, env, args.instructions, modules)


def diff_rows(python: str, out: Path, runs: int) -> list[Row]:
    """The plan diff of every stack, as `./tasks.sh diff --base HEAD` runs it: with every plan
    kept from the last diff, and after a stack-file edit (a clone of HEAD whose dev stack file
    gains a comment before each run, so the working tree renders again and the base is kept)."""
    clone = out / "diff-clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    edit = f'printf "# bench %s\\n" "$(date +%s%N)" >> {clone}/Pulumi.dev.yaml'
    diff = f"cd {clone} && exec {python} -m review.diff --base HEAD --cache {out}/plans"
    return [
        (DIFF_KEPT, [python, "-m", "review.diff", "--base", "HEAD", "--cache", str(out / "plans")], runs),
        (DIFF_EDITED, ["sh", "-c", f"{edit} && {diff}"], runs),
    ]


def fresh_clone_test(folder: Path) -> list[str]:
    """A clone of HEAD with nothing installed, its README's test command run in it; no package
    cache, as on a fresh CI runner."""
    clone = f"git clone --quiet {ROOT} {folder} && cd {folder}"
    return ["sh", "-c", f"{clone} && PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 ./tasks.sh test -p no:cacheprovider"]


SUITE = "./tasks.sh test, warm (lint, format and type checks, pytest, policy pack tests)"
SUITE_COVERAGE = "./tasks.sh test --cov, warm (the same with coverage and its gate, as CI runs it)"
FRESH = "./tasks.sh test on a fresh clone, installs included (no package cache)"
DIFF_KEPT = "./tasks.sh diff, every stack, plans kept (nothing changed since the last diff)"
DIFF_EDITED = "./tasks.sh diff, every stack, after a stack-file edit (the working tree renders)"
UNWARMED = (SUITE, SUITE_COVERAGE, FRESH)  # not warmed: a warm-up run would be one more measurement
SLOWEST = 15


@dataclass(frozen=True)
class Target:
    """A figure the project holds itself to: every row it covers within ``limit`` (a wall time's
    median in seconds, or a render's instructions over the floor's), judged on the worst of them."""

    what: str
    # The rows it covers, by the start of their label, each with the short name the targets' table
    # gives it (followed by the rest of the label: "render " covers "render dev" as "dev").
    rows: tuple[tuple[str, str], ...]
    limit: float
    unit: Literal["s", "x floor"]  # wall seconds, or instructions over the SDK import floor's
    needs: str  # how the benchmark must be run to measure it


# The fast feedback loop a developer and a reviewer wait on, and a render's own cost over the
# SDKs' (docs/performance.md). A render's wall time moves 10-20 % between runs: it is judged on
# instructions, counted with --instructions.
TARGETS = (
    Target("`./tasks.sh test`, warm", ((SUITE, ""),), 30, "s", "run without --no-suite"),
    Target("`./tasks.sh test` on a fresh clone, installs included", ((FRESH, ""),), 120, "s", "run with --fresh"),
    Target(
        "`./tasks.sh diff` over every stack, warm",
        ((DIFF_KEPT, "plans kept"), (DIFF_EDITED, "after an edit")),
        5,
        "s",
        "",
    ),
    Target("a render, in instructions", ((RENDER, ""),), 1.4, "x floor", "run with --instructions"),
)


Row = tuple[str, list[str], int]  # label, command, runs


def report(rows: list[Row], env: dict[str, str], count: bool, modules: list[str] | None = None) -> int:
    """Measure ``rows`` and print the table; 1 if any command failed.

    A command that fails is a row of its own (its exit code, the failing tests or its last line)
    and is not run again; every other row is still measured and printed."""
    results, failures = run_rows(rows, env)
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, warm bytecode cache;"
        f" SDK modules: {', '.join(modules or [])}\n"
    )
    print_table(rows, results, failures)
    counts = print_instructions(rows, env, failures) if count else None
    print_targets(rows, results, counts, failures)
    if failures:
        print(f"\n{len(failures)} command(s) failed: {', '.join(failures)}", file=sys.stderr)
        for label, failure in failures.items():
            print(f"\n--- {label}: the end of its output ---\n{failure.output[-3000:]}", file=sys.stderr)
        return 1
    return 0


def run_rows(rows: list[Row], env: dict[str, str]) -> tuple[dict[str, list[Run]], dict[str, CommandFailedError]]:
    """Each row's runs, and each failed row's failure (after which it is not run again)."""
    failures: dict[str, CommandFailedError] = {}
    for label, command, _ in rows:
        if label not in UNWARMED:  # the suite's modules are the renders', bar the tests
            try:
                warm(command, env)
            except CommandFailedError as failure:
                failures[label] = failure
    # Round-robin, one run of each command per round: the machine's speed drifts over a
    # benchmark, and measuring the floor first and the renders last would bias the ratio.
    results: dict[str, list[Run]] = {label: [] for label, _, _ in rows}
    for round_ in range(max((runs for _, _, runs in rows), default=0)):
        for label, command, runs in rows:
            if round_ < runs and label not in failures:
                try:
                    results[label].append(run_once(command, None if label in UNWARMED else env))
                except CommandFailedError as failure:
                    failures[label] = failure
    return results, failures


def failure_row(label: str, failure: CommandFailedError, columns: int, how: str = "") -> str:
    command = " ".join(failure.command)
    return f"| **FAILED** {label}{how}: `{command}` exited {failure.code}; {failure.summary()} |" + " |" * columns


def print_table(rows: list[Row], results: dict[str, list[Run]], failures: dict[str, CommandFailedError]) -> None:
    floors = [
        statistics.median(r.wall for r in results[label]) if results[label] else None
        for label, _, _ in rows
        if label.startswith(FLOOR)
    ]
    print(
        "| what | runs | wall median (s) | wall best (s) | CPU user+sys median (s) | x floor"
        " | peak RSS (MiB) | others' load (cores) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, _, _ in rows:
        if done := results[label]:
            median = statistics.median(r.wall for r in done)
            relative = label.startswith((FLOOR, RENDER))
            ratios = " | ".join(f"{median / f:.2f}" if f and relative else "" for f in floors)
            # Others' load: the CPU seconds the rest of the machine used per second of these runs.
            known = [r.others for r in done if r.others is not None]
            load = f"{sum(known) / sum(r.wall for r in done):.2f}" if known else ""
            print(
                f"| {label} | {len(done)} | {median:.2f} | {min(r.wall for r in done):.2f}"
                f" | {statistics.median(r.cpu for r in done):.2f} | {ratios}"
                f" | {max(r.peak for r in done) / 1024:.0f} | {load} |"
            )
        if label in failures:
            print(failure_row(label, failures[label], 7))
    suite = results.get(SUITE)
    if suite and (slowest := slowest_tests(suite[0].output)):
        print(f"\nThe {SLOWEST} slowest tests (pytest --durations={SLOWEST}):\n")
        print("\n".join(f"    {line}" for line in slowest))


def print_instructions(rows: list[Row], env: dict[str, str], failures: dict[str, CommandFailedError]) -> dict[str, int]:
    """Count and print the floor's and each render's instructions; the counts, by row."""
    counted = [(label, command) for label, command, _ in rows if label.startswith((FLOOR, RENDER))]
    counts: dict[str, int] = {}
    earlier = set(failures)  # rows already failed in the table above: not counted, not repeated
    for label, command in counted:
        if label not in earlier:
            try:
                counts[label] = instructions(command, env)
            except CommandFailedError as failure:
                failures[label] = failure
    floors = [counts.get(label) for label, _ in counted if label.startswith(FLOOR)]
    print("\n| what | instructions (M) | x floor |\n|---|---:|---:|")
    for label, _ in counted:
        if label in counts:
            ratios = " | ".join(f"{counts[label] / f:.3f}" if f else "" for f in floors)
            print(f"| {label} | {counts[label] / 1e6:.0f} | {ratios} |")
        elif label not in earlier:
            print(failure_row(label, failures[label], 2, " under valgrind"))
    return counts


def print_targets(
    rows: list[Row],
    results: dict[str, list[Run]],
    counts: dict[str, int] | None,
    failures: dict[str, CommandFailedError],
) -> None:
    """Each target beside what this benchmark measured, on the worst of its rows, and whether it
    is met. ``counts``: the instruction counts by row, None when they were not counted. A row that
    failed (in the table, or for a render under valgrind, or the floor it is divided by) fails its
    target; a target with no row measured says what the benchmark must be asked for."""
    floor = next((label for label, _, _ in rows if label.startswith(FLOOR)), None)
    print("\n| target | limit | measured | met |\n|---|---:|---|---|")
    for target in TARGETS:
        covered = [
            (label, f"{name} {label.removeprefix(prefix)}".strip())
            for label, _, _ in rows
            for prefix, name in target.rows
            if label.startswith(prefix)
        ]
        failed = [name or "its command" for label, name in covered if label in failures]
        if target.unit == "s":
            measured = {
                name: statistics.median(r.wall for r in results[label]) for label, name in covered if results[label]
            }
        elif counts is None:  # not counted: nothing to judge, whatever the wall table says
            failed, measured = [], {}
        elif floor not in counts:  # the floor failed, in the table or under valgrind
            failed, measured = [*failed, "the floor"], {}
        else:
            measured = {name: counts[label] / counts[floor] for label, name in covered if label in counts}
        limit = f"≤ {target.limit:g} s" if target.unit == "s" else f"≤ {target.limit:g}x the floor"
        if failed:
            print(f"| {target.what} | {limit} | | **no**: {', '.join(failed)} failed |")
        elif not measured:
            print(f"| {target.what} | {limit} | not measured | {target.needs} |")
        else:
            worst = max(measured, key=measured.__getitem__)
            figure = f"{measured[worst]:.2f} s" if target.unit == "s" else f"{measured[worst]:.3f}x"
            if len(covered) > 1:  # which of its rows it is judged on
                figure += f" ({worst})"
            print(f"| {target.what} | {limit} | {figure} | {'yes' if measured[worst] <= target.limit else '**no**'} |")


if __name__ == "__main__":
    sys.exit(main())
