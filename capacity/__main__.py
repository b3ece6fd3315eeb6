"""Capacity tools: an HPA dry run of a stack's own settings under a load profile.

    python -m capacity simulate [stack] [--scenario step|ramp|spike|diurnal] [--csv FILE]
                                [--factor 5] [--duration SECONDS] [--out DIR] [--no-plot]
                                (the default duration covers the whole scenario)
    python -m capacity replay [stack] --prometheus URL --from TIME --to TIME [--out DIR] [--no-plot]
    python -m capacity rightsize [stack] --prometheus URL [--from TIME --to TIME] [--write]
    python -m capacity pr [--base REV] [--out DIR]   (stacks whose autoscaling or resources changed)

TIME is Unix seconds or ISO 8601 (2026-11-20T00:00:00Z); rightsize defaults to the last 7 days.

Writes, into build/capacity/<stack>/ (or --out): <scenario>.csv (time, load, ready and desired
replicas, CPU and memory utilization of requests), <scenario>.png (the stack's behavior; unless
--no-plot) and <scenario>.md (the summary beside the same scenario under Kubernetes' default
behavior), and prints the summary and where it wrote the files.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from bisect import bisect_right
from dataclasses import fields
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

from capacity import profiles, rightsize
from capacity.recorded import Usage, load_series, recorded_usage
from capacity.simulate import Row, Summary, simulate, summarize
from revisions import git as revisions
from settings.stack import StackSettings
from settings.stackfile import PROJECT, ROOT, load_stack

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FACTOR = 5.0  # the default peak over the baseline, of `simulate` and of `pr`'s step


def load_settings(stack: str, root: Path | None = None) -> StackSettings:
    """The stack's validated settings, without Pulumi (settings.stackfile.load_stack)."""
    return load_stack(stack, root or ROOT)  # this module's ROOT: the tests point it at a copy


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        names = [f.name for f in fields(Row)]
        writer.writerow(names)
        # attrgetter, not dataclasses.astuple: astuple deep-copies each field, which made writing
        # a replayed week's 40,321 rows take longer than simulating them.
        writer.writerows(map(attrgetter(*names), rows))


def _duration(seconds: int) -> str:
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min {seconds % 60:02d} s"
    return f"{seconds // 60} min {seconds % 60:02d} s"


def _pods(count: int) -> str:
    return f"{count} pod{'' if count == 1 else 's'}"


def _to_capacity(summary: Summary) -> str:
    if summary.short_at is None:
        return "never short"
    if summary.seconds_to_capacity is None:
        return "still short at the end" if summary.short_at_end else "still short in the last minute"
    return _duration(summary.seconds_to_capacity)


def _over_requests(summary: Summary) -> str:
    return _duration(summary.seconds_over_requests) if summary.seconds_over_requests else "never"


def _scale_down(summary: Summary) -> str:
    pods = _pods(summary.final_replicas)
    if summary.dropped_at is None:
        return f"the load never dropped ({pods})"
    if summary.seconds_to_scale_down is None:
        # "by the end": the run stopped within a scale-down window of the drop, too soon to tell.
        return f"no scale-down {'' if summary.settled else 'by the end '}(stayed at {pods})"
    if not summary.settled:
        return f"not settled by the end ({pods})"
    return f"{_duration(summary.seconds_to_scale_down)} (to {pods})"


def summary_table(stack: str, scenario: str, ours: Summary, defaults: Summary) -> str:
    lines = [
        f"### {stack}: {scenario}",
        "",
        "| | this stack's behavior | no `behavior` (Kubernetes' default) |",
        "|---|---:|---:|",
        f"| from the first shortfall to enough capacity | {_to_capacity(ours)} | {_to_capacity(defaults)} |",
        f"| time over 100 % of requests | {_over_requests(ours)} | {_over_requests(defaults)} |",
        f"| peak replicas | {ours.peak_replicas} | {defaults.peak_replicas} |",
        f"| from the load's drop to the last scale-down | {_scale_down(ours)} | {_scale_down(defaults)} |",
    ]
    return "\n".join(lines) + "\n"


# The load axis' limits keep the load's lowest and highest values this share of the axes' height
# away from the min and max replica lines (both axes scaled alike drew a step's base and peak on them).
LINE_GAP = 0.08


def _load_limits(low: float, high: float, line_heights: list[float]) -> tuple[float, float]:
    """(0, top) for the load axis: the lowest top from 1.1 x the peak up, in 5 % steps, that keeps
    the load's extremes LINE_GAP away from each replica line (given as shares of the axes' height)."""
    if high <= 0:
        return 0.0, 1.0
    for step in range(60):
        top = high * 1.1 * 1.05**step
        if all(abs(value / top - line) >= LINE_GAP for value in (low, high) for line in line_heights):
            return 0.0, top
    return 0.0, high * 1.1


def figure(
    settings: StackSettings,
    stack: str,
    scenario: str,
    rows: list[Row],
    *,
    defaults: list[Row],
    start: float | None = None,
) -> Figure:
    """The plot as a matplotlib Figure; `start` (Unix seconds) puts clock time (UTC) on the x-axis."""
    # matplotlib costs a second to import: only the commands that draw load it (not --no-plot).
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    scaling = settings.backend.autoscaling
    if start is not None:
        x: list = [datetime.fromtimestamp(start + r.seconds, tz=UTC) for r in rows]
        x_label = "time (UTC)"
    elif rows[-1].seconds > 3 * 3600:
        x, x_label = [r.seconds / 3600 for r in rows], "hours"
    else:
        x, x_label = [r.seconds / 60 for r in rows], "minutes"
    # Constrained layout makes room for the legends outside the axes, where they cover no data.
    result = Figure(figsize=(11, 8.5), layout="constrained")
    top, bottom = result.subplots(2, 1, sharex=True)
    top.step(x, [r.desired for r in rows], where="post", label="desired replicas")
    top.step(x, [r.ready for r in rows], where="post", label="ready replicas")
    top.step(x, [r.desired for r in defaults], where="post", linestyle="--", label="desired, Kubernetes' defaults")
    top.axhline(scaling.min_replicas, color="grey", linestyle=":", label="min / max replicas")
    top.axhline(scaling.max_replicas, color="grey", linestyle=":")
    top.set_ylim(0, scaling.max_replicas + 1)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.set_ylabel("replicas")
    load = top.twinx()
    loads = [r.load for r in rows]
    load.plot(x, loads, color="black", alpha=0.3, label="load (right axis)")
    heights = [count / (scaling.max_replicas + 1) for count in (scaling.min_replicas, scaling.max_replicas)]
    load.set_ylim(*_load_limits(min(loads), max(loads), heights))
    load.set_ylabel("load (requests/s)")
    handles, labels = top.get_legend_handles_labels()
    load_handles, load_labels = load.get_legend_handles_labels()
    above = {"loc": "lower left", "bbox_to_anchor": (0, 1.02), "ncols": 3, "borderaxespad": 0}
    top.legend(handles + load_handles, labels + load_labels, **above)
    bottom.plot(x, [r.cpu_utilization for r in rows], label="CPU, % of request")
    bottom.plot(x, [r.memory_utilization for r in rows], label="memory, % of request")
    bottom.axhline(scaling.target_cpu_utilization, color="C0", linestyle="--", label="CPU target")
    bottom.axhline(scaling.target_memory_utilization, color="C1", linestyle="--", label="memory target")
    bottom.axhline(100, color="red", linestyle=":", label="100 % of requests")
    bottom.set_ylabel("utilization of ready pods (%)")
    bottom.set_xlabel(x_label)
    bottom.legend(**above)
    if start is not None:
        locator = AutoDateLocator()
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))
    result.suptitle(f"HPA dry run: stack {stack}, scenario {scenario}")
    return result


def plot(
    settings: StackSettings,
    stack: str,
    scenario: str,
    rows: list[Row],
    *,
    defaults: list[Row],
    path: Path,
    start: float | None = None,
) -> None:
    figure(settings, stack, scenario, rows, defaults=defaults, start=start).savefig(path, dpi=100)


def _time(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected Unix seconds or ISO 8601, got {value!r}") from error


def _outputs(
    settings: StackSettings,
    stack: str,
    scenario: str,
    load: profiles.Profile,
    *,
    duration: int,
    out: Path,
    with_plot: bool,
    start: float | None = None,
) -> None:
    """Simulates, writes the scenario's files into `out`, prints the summary and where the files are."""
    out.mkdir(parents=True, exist_ok=True)
    rows = simulate(settings, load, duration)
    defaults = simulate(settings, load, duration, kubernetes_defaults=True)
    write_csv(rows, out / f"{scenario}.csv")
    table = summary_table(stack, scenario, summarize(settings, rows), summarize(settings, defaults))
    (out / f"{scenario}.md").write_text(table)
    written = 2
    if with_plot:
        plot(settings, stack, scenario, rows, defaults=defaults, path=out / f"{scenario}.png", start=start)
        written += 1
    print(table, end="")
    print(f"\nWrote {written} files to {out}")


def _recorded(args: argparse.Namespace) -> tuple[StackSettings, Usage]:

    settings = load_settings(args.stack)
    end = args.to if args.to is not None else time.time()
    start = args.since if args.since is not None else end - 7 * 86400
    return settings, recorded_usage(settings, args.prometheus, start, end)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m capacity", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("simulate", help="an HPA dry run under a load profile")
    run.add_argument("stack", nargs="?", default="prod")
    run.add_argument("--scenario", choices=sorted(profiles.BUILT_IN), default="step")
    run.add_argument("--csv", type=Path, help="a recorded profile: rows of seconds,load (instead of --scenario)")
    run.add_argument("--factor", type=float, default=FACTOR, help=f"peak load over the baseline (default {FACTOR:g})")
    lengths = ", ".join(f"{name} {seconds}" for name, seconds in sorted(profiles.DEFAULT_SECONDS.items()))
    run.add_argument(
        "--duration",
        type=int,
        help=f"seconds to simulate (default: the whole scenario: {lengths}; a --csv profile's last row "
        f"+ {profiles.SETTLE})",
    )
    run.add_argument("--out", type=Path, help="output folder (default build/capacity/<stack>)")
    run.add_argument("--no-plot", action="store_true")
    for name, text in (("replay", "the HPA dry run over recorded load"), ("rightsize", "requests from recorded usage")):
        recorded = commands.add_parser(name, help=text)
        recorded.add_argument("stack", nargs="?", default="prod")
        recorded.add_argument("--prometheus", required=True, help="the Prometheus that scrapes the cluster")
        recorded.add_argument("--from", dest="since", type=_time, required=name == "replay")
        recorded.add_argument("--to", type=_time, required=name == "replay")
        if name == "replay":
            recorded.add_argument("--out", type=Path)
            recorded.add_argument("--no-plot", action="store_true")
        else:
            recorded.add_argument("--write", action="store_true", help="update Pulumi.<stack>.yaml in place")
    pull_request = commands.add_parser("pr", help="before and after, for stacks whose scaling or sizing changed")
    pull_request.add_argument("--base", help="git revision to compare with (default: the merge base with main)")
    pull_request.add_argument("--out", type=Path, help="plots' folder (default build/capacity/pr)")
    args = parser.parse_args(argv)
    if args.command == "pr":
        return _pull_request(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "rightsize":
        return _rightsize(args)
    try:
        settings = load_settings(args.stack)
        base = settings.capacity.load.baseline_load
        if args.csv:
            scenario, (load, length) = args.csv.stem, profiles.from_csv(args.csv)
        else:
            scenario, load = args.scenario, profiles.BUILT_IN[args.scenario](base, args.factor)
            length = profiles.DEFAULT_SECONDS[args.scenario]
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "build" / "capacity" / args.stack
    duration = length if args.duration is None else args.duration
    _outputs(settings, args.stack, scenario, load, duration=duration, out=out, with_plot=not args.no_plot)
    return 0


def _sizing(settings: StackSettings) -> tuple:
    return settings.backend.autoscaling, settings.backend.resources, settings.capacity


def _pull_request(args: argparse.Namespace) -> int:
    """A 5x step for each stack whose autoscaling, resources or load model differ from the base."""

    out = args.out or ROOT / "build" / "capacity" / "pr"
    out.mkdir(parents=True, exist_ok=True)
    sections, written = [], 0
    try:
        base = args.base or revisions.default_base()
        with revisions.checkout(base) as before:
            for stack in sorted(revisions.stacks_in(ROOT)):
                after = load_settings(stack)
                old = load_settings(stack, before) if (before / f"Pulumi.{stack}.yaml").is_file() else None
                if old is not None and _sizing(old) == _sizing(after):
                    continue
                lines = [f"### Capacity of stack {stack}: a {FACTOR:g}x step, before and after", ""]
                for label, settings in (("before", old), ("after", after)):
                    if settings is None:
                        continue
                    load = profiles.step(settings.capacity.load.baseline_load, FACTOR)
                    rows = simulate(settings, load, profiles.DEFAULT_SECONDS["step"])
                    defaults = simulate(settings, load, profiles.DEFAULT_SECONDS["step"], kubernetes_defaults=True)
                    plot(settings, stack, f"step, {label}", rows, defaults=defaults, path=out / f"{stack}-{label}.png")
                    written += 1
                    ours, theirs = summarize(settings, rows), summarize(settings, defaults)
                    lines.append(summary_table(stack, f"step, {label}", ours, theirs))
                lines.append(f"Plots: `{stack}-before.png`, `{stack}-after.png` in the run's `capacity` artifact.\n")
                sections.append("\n".join(lines))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(sections) if sections else "No stack's autoscaling, resources or load model changed.\n", end="")
    if written:
        # On stderr: stdout is the pull request's comment, where the plots are the run's artifact.
        print(f"\nWrote {written} files to {out}", file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:

    try:
        settings, usage = _recorded(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    series = load_series(settings, usage)
    times = [t for t, _ in series]

    def load(t: float) -> float:
        return series[max(0, bisect_right(times, t) - 1)][1]

    out = args.out or ROOT / "build" / "capacity" / args.stack
    duration, start = int(times[-1]), usage.times[0]
    _outputs(settings, args.stack, "replay", load, duration=duration, out=out, with_plot=not args.no_plot, start=start)
    return 0


def _rightsize(args: argparse.Namespace) -> int:

    try:
        settings, usage = _recorded(args)
        recommendations = rightsize.recommend(settings, usage)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(rightsize.table(recommendations, settings.backend.autoscaling.max_replicas), end="")
    stack_file = ROOT / f"Pulumi.{args.stack}.yaml"
    if not args.write:
        print(f"\nNothing written: --write puts the recommended requests into {stack_file}")
        return 0
    try:
        rightsize.write(stack_file, recommendations, PROJECT, lambda: load_settings(args.stack))
    except ValueError as error:
        print(f"error: {stack_file.name} not written: {error}", file=sys.stderr)
        return 2
    print(f"\nWrote the recommended requests to {stack_file} (validated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
