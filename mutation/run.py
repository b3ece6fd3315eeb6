"""`./tasks.sh mutate [module...]`: cosmic-ray over the modules of mutation/config.toml (default: all),
each judged by its own test selection, then the kill rate per module and every surviving mutant.

Runs in the mutation venv (.tools/mutation); each mutant's tests run in the program's venv. Each module
is mutated in its own copy of the working tree under build/mutation/<module>/tree, never in place:
other people edit the same files while a run goes on, and must never see (or commit) a mutant.
Surviving mutants listed in mutation/equivalent.toml are shown apart, with why, and left out of the
meaningful kill rate.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # cosmic-ray's console scripts sit beside the venv's python
# Never copied: environments, build output and caches (the copy links the program's venv instead).
TOP_LEVEL_SKIP = {"venv", ".tools", "build", ".git"}
ANYWHERE_SKIP = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "venv"}


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = {name for name in names if name in ANYWHERE_SKIP}
    if Path(folder) == ROOT:
        skipped |= {name for name in names if name in TOP_LEVEL_SKIP}
    return skipped


def _copy_tree(destination: Path) -> None:
    shutil.copytree(ROOT, destination, ignore=_ignore, symlinks=True)
    (destination / "venv").symlink_to(ROOT / "venv")


def _cosmic(*args: str, cwd: Path, nice: bool = False) -> subprocess.CompletedProcess:
    command = [str(BIN / "cosmic-ray"), *args]
    if nice:
        command = ["nice", "-n", "10", *command]  # a shared machine: the mutants run at low priority
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _results(tree: Path, session: Path) -> list[tuple[dict, dict | None]]:
    dumped = _cosmic("dump", str(session), cwd=tree)
    rows = [json.loads(line) for line in dumped.stdout.splitlines() if line.strip()]
    return [(job["mutations"][0], result) for job, result in rows]


def _changed_line(diff: str | None) -> str:
    added = [line[1:] for line in (diff or "").splitlines() if line.startswith("+") and not line.startswith("+++")]
    return added[0].strip() if added else "?"


def run_module(module: str, settings: dict, defaults: dict, equivalent: list[dict], mode: str) -> dict:
    slug = module.replace("/", "_").removesuffix(".py")
    work = ROOT / "build" / "mutation" / slug
    tree, session = work / "tree", work / "session.sqlite"
    started = time.monotonic()
    if mode == "report":
        error = None if session.is_file() else "no run to report yet: ./tasks.sh mutate " + module
    elif mode == "survivors" and session.is_file():
        error = _retry_survivors(module, work)
    else:
        error = _execute(module, settings, defaults, work)
    if error:
        return {"module": module, "error": error}
    return _report(module, tree, session, equivalent, time.monotonic() - started)


def _retry_survivors(module: str, work: Path) -> str | None:
    """The last run's survivors again, against the tests as they are now (the module unchanged)."""
    tree, session = work / "tree", work / "session.sqlite"
    if (ROOT / module).read_text() != (tree / module).read_text():
        return "the module changed since its last run (mutant positions are stale): run it in full"
    shutil.rmtree(tree)
    _copy_tree(tree)
    with sqlite3.connect(session) as connection:  # survivors become pending work again
        connection.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")
    executed = _cosmic("exec", str(work / "cosmic-ray.toml"), str(session), cwd=tree, nice=True)
    return "cosmic-ray exec failed: " + executed.stderr.strip()[-500:] if executed.returncode else None


def _execute(module: str, settings: dict, defaults: dict, work: Path) -> str | None:
    """A fresh copy of the tree, then every mutant of ``module``; the reason it could not, if any."""
    shutil.rmtree(work, ignore_errors=True)
    tree = work / "tree"
    _copy_tree(tree)
    python = ROOT / "venv" / "bin" / "python"
    test_command = shlex.join([str(python), "-m", "pytest", *settings["tests"], *defaults["pytest-args"]])
    config = work / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {float(settings.get('timeout', defaults['timeout']))}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_command)}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    session = work / "session.sqlite"
    initialised = _cosmic("init", str(config), str(session), cwd=tree)
    if initialised.returncode:
        return "cosmic-ray init failed: " + initialised.stderr.strip()[-500:]
    # The unmutated code must pass its selection, or every mutant would look killed.
    baseline = _cosmic("baseline", str(config), cwd=tree, nice=True)
    if baseline.returncode:
        return "the tests fail on the unmutated code:\n" + (baseline.stdout + baseline.stderr).strip()[-1500:]
    executed = _cosmic("exec", str(config), str(session), cwd=tree, nice=True)
    if executed.returncode:
        return "cosmic-ray exec failed: " + executed.stderr.strip()[-500:]
    return None


def _report(module: str, tree: Path, session: Path, equivalent: list[dict], seconds: float) -> dict:
    source = (tree / module).read_text().splitlines()  # restored after each mutant
    counts = {"killed": 0, "survived": 0, "equivalent": 0, "other": 0}
    survivors, equivalents, others = [], [], []
    for mutation, result in _results(tree, session):
        line_number = mutation["start_pos"][0]
        line = source[line_number - 1].strip()
        where = f"{module}:{line_number} {mutation['operator_name']}"
        outcome = (result or {}).get("test_outcome")
        if outcome == "killed":
            counts["killed"] += 1
        elif outcome == "survived" and result is not None:
            shown = f"{where}\n      - {line}\n      + {_changed_line(result.get('diff'))}"
            match = next(
                (
                    entry
                    for entry in equivalent
                    if entry["module"] == module
                    and entry["operator"] == mutation["operator_name"]
                    and entry["line"].strip() == line
                ),
                None,
            )
            if match:
                counts["equivalent"] += 1
                equivalents.append(f"{shown}\n      why: {match['why']}")
            else:
                counts["survived"] += 1
                survivors.append(shown)
        else:  # incompetent (the mutant cannot even be built), or the worker failed
            counts["other"] += 1
            others.append(f"{where}: {(result or {}).get('worker_outcome')} {outcome}")
    judged = counts["killed"] + counts["survived"]
    return {
        "module": module,
        "counts": counts,
        "total": sum(counts.values()),
        "rate": counts["killed"] / judged if judged else 1.0,
        "raw_rate": counts["killed"] / (judged + counts["equivalent"]) if judged + counts["equivalent"] else 1.0,
        "survivors": survivors,
        "equivalents": equivalents,
        "others": others,
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./tasks.sh mutate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "modules", nargs="*", help="paths such as components/grafana/promql.py (default: every configured one)"
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--report", action="store_true", help="report the last run's sessions again (e.g. after judging survivors)"
    )
    modes.add_argument(
        "--survivors", action="store_true", help="run the last run's survivors again, against the current tests"
    )
    args = parser.parse_args(argv)
    config = tomllib.loads((HERE / "config.toml").read_text())
    equivalent = tomllib.loads((HERE / "equivalent.toml").read_text()).get("equivalent", [])
    modules = args.modules or list(config["modules"])
    unknown = [m for m in modules if m not in config["modules"]]
    if unknown:
        print(f"not in mutation/config.toml (no test selection): {', '.join(unknown)}", file=sys.stderr)
        return 2
    reports = []
    for module in modules:
        if not (ROOT / module).is_file():
            print(f"{module}: missing from the working tree, skipped", flush=True)
            continue
        mode = "report" if args.report else "survivors" if args.survivors else "all"
        print(f"{module}: {'reporting' if mode == 'report' else 'mutating'} ...", flush=True)
        report = run_module(module, config["modules"][module], config["defaults"], equivalent, mode)
        reports.append(report)
        if "error" in report:
            print(f"{module}: {report['error']}", flush=True)
            continue
        for title, key in (("surviving", "survivors"), ("equivalent (judged)", "equivalents"), ("not run", "others")):
            if report[key]:
                print(f"  {title}:")
                for entry in report[key]:
                    print(f"    {entry}")
        print(f"{module}: {report['rate']:.1%} killed ({report['seconds']:.0f}s)", flush=True)
    header = f"{'mutants':>7} {'killed':>6} {'surv.':>5} {'equiv.':>6} {'other':>5} {'kill rate':>9} {'raw':>6}"
    print(f"\n{'module':34} {header}")
    failed = False
    for report in reports:
        if "error" in report:
            failed = True
            print(f"{report['module']:34} error")
            continue
        c = report["counts"]
        print(
            f"{report['module']:34} {report['total']:>7} {c['killed']:>6} {c['survived']:>5} {c['equivalent']:>6} "
            f"{c['other']:>5} {report['rate']:>9.1%} {report['raw_rate']:>6.1%}"
        )
    print("kill rate: killed / (killed + surviving), judged-equivalent survivors left out; raw: with them")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
