"""Capacity tools: an HPA dry run of a stack's own settings under a load profile.

    python -m capacity simulate [stack] [--scenario step|ramp|spike|diurnal] [--csv FILE]
                                [--factor 5] [--duration SECONDS] [--out DIR] [--no-plot]

Writes, into build/capacity/<stack>/ (or --out): <scenario>.csv (time, load, ready and desired
replicas, CPU and memory utilization of requests), <scenario>.png (the stack's behavior; unless
--no-plot) and <scenario>.md (the summary beside the same scenario under Kubernetes' default
behavior), and prints the summary.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import astuple, fields
from pathlib import Path

from capacity import profiles
from capacity.simulate import Row, Summary, simulate, summarize

ROOT = Path(__file__).resolve().parent.parent


def load_settings(stack: str):
    """The stack file through the settings layer, without Pulumi (as the render's tests read it)."""
    from offline.stackfile import project_values, read_stack_file
    from settings.report import validate

    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ValueError(f"no stack file {path.name}")
    values, secret_keys = project_values(read_stack_file(path), "reconciliation-platform")
    settings, problems = validate(values, secret_keys, "reconciliation-platform", stack)
    if problems:
        raise ValueError(f"{path.name} is invalid:\n" + "\n".join(problems))
    return settings


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f.name for f in fields(Row)])
        writer.writerows(astuple(row) for row in rows)


def _duration(value: int | None) -> str:
    return "never" if value is None else f"{value // 60} min {value % 60:02d} s"


def summary_table(stack: str, scenario: str, ours: Summary, defaults: Summary) -> str:
    lines = [
        f"### {stack}: {scenario}",
        "",
        "| | this stack's behavior | Kubernetes' default behavior |",
        "|---|---:|---:|",
        f"| from the load change to enough capacity | {_duration(ours.seconds_to_capacity)} | "
        f"{_duration(defaults.seconds_to_capacity)} |",
        f"| time over 100 % of requests | {_duration(ours.seconds_over_requests)} | "
        f"{_duration(defaults.seconds_over_requests)} |",
        f"| peak replicas | {ours.peak_replicas} | {defaults.peak_replicas} |",
        f"| from the load's drop to the final count | {_duration(ours.seconds_to_scale_down)} | "
        f"{_duration(defaults.seconds_to_scale_down)} |",
    ]
    return "\n".join(lines) + "\n"


def plot(settings, stack: str, scenario: str, rows: list[Row], *, defaults: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    scaling = settings.backend.autoscaling
    minutes = [r.seconds / 60 for r in rows]
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(10, 7), sharex=True)
    top.step(minutes, [r.desired for r in rows], where="post", label="desired replicas")
    top.step(minutes, [r.ready for r in rows], where="post", label="ready replicas")
    top.step(
        minutes, [r.desired for r in defaults], where="post", linestyle="--", label="desired, Kubernetes' defaults"
    )
    top.axhline(scaling.min_replicas, color="grey", linestyle=":", label="min / max replicas")
    top.axhline(scaling.max_replicas, color="grey", linestyle=":")
    top.set_ylabel("replicas")
    load = top.twinx()
    load.plot(minutes, [r.load for r in rows], color="black", alpha=0.3, label="load")
    load.set_ylabel("load (requests/s)")
    top.legend(loc="upper left")
    bottom.plot(minutes, [r.cpu_utilization for r in rows], label="CPU, % of request")
    bottom.plot(minutes, [r.memory_utilization for r in rows], label="memory, % of request")
    bottom.axhline(scaling.target_cpu_utilization, color="C0", linestyle="--", label="CPU target")
    bottom.axhline(scaling.target_memory_utilization, color="C1", linestyle="--", label="memory target")
    bottom.axhline(100, color="red", linestyle=":", label="100 % of requests")
    bottom.set_ylabel("utilization of ready pods (%)")
    bottom.set_xlabel("minutes")
    bottom.legend(loc="upper right")
    figure.suptitle(f"HPA dry run: stack {stack}, scenario {scenario}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m capacity", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("simulate", help="an HPA dry run under a load profile")
    run.add_argument("stack", nargs="?", default="prod")
    run.add_argument("--scenario", choices=sorted(profiles.BUILT_IN), default="step")
    run.add_argument("--csv", type=Path, help="a recorded profile: rows of seconds,load (instead of --scenario)")
    run.add_argument("--factor", type=float, default=5.0, help="peak load over the baseline (default 5)")
    run.add_argument("--duration", type=int, default=3600, help="seconds to simulate (default 3600)")
    run.add_argument("--out", type=Path, help="output folder (default build/capacity/<stack>)")
    run.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.stack)
        base = settings.capacity.load.baseline_load
        if args.csv:
            scenario, load = args.csv.stem, profiles.from_csv(args.csv)
        else:
            scenario, load = args.scenario, profiles.BUILT_IN[args.scenario](base, args.factor)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "build" / "capacity" / args.stack
    out.mkdir(parents=True, exist_ok=True)
    rows = simulate(settings, load, args.duration)
    defaults = simulate(settings, load, args.duration, kubernetes_defaults=True)
    write_csv(rows, out / f"{scenario}.csv")
    table = summary_table(args.stack, scenario, summarize(settings, rows), summarize(settings, defaults))
    (out / f"{scenario}.md").write_text(table)
    if not args.no_plot:
        plot(settings, args.stack, scenario, rows, defaults=defaults, path=out / f"{scenario}.png")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
