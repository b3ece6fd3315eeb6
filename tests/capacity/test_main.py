"""The HPA simulator against cases computed by hand from the controller's algorithm, and its CLI's
files for every stack."""

from __future__ import annotations

import csv
import io
import itertools
import re
import shutil
from collections.abc import Callable
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import yaml
from helpers import changed, validated
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from capacity import __main__ as cli
from capacity import profiles
from capacity.simulate import Row, simulate


def test_the_cli_writes_series_plot_and_summary_for_every_stack(stack: str, tmp_path: Path) -> None:
    assert cli.main(["simulate", stack, "--out", str(tmp_path), "--duration", "1800"]) == 0
    with (tmp_path / "step.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["seconds", "load", "ready", "desired", "cpu_utilization", "memory_utilization"]
    assert len(rows) == 1800 // 15 + 2
    assert (tmp_path / "step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "step.md").read_text()
    assert summary.startswith(f"### {stack}: step\n")
    assert "| peak replicas |" in summary


def test_a_recorded_profile_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "recorded.csv"
    recorded.write_text("# seconds,load\n0,40\n600,120\n1200,40\n")
    load, seconds = profiles.from_csv(recorded)
    assert [load(t) for t in (0, 599, 600, 1500)] == [40, 40, 120, 40]
    assert seconds == 1200 + profiles.SETTLE  # its last row, then time to watch the scale-down
    assert cli.main(["simulate", "dev", "--csv", str(recorded), "--out", str(tmp_path), "--no-plot"]) == 0
    assert (tmp_path / "recorded.md").is_file()
    (tmp_path / "empty.csv").write_text("")
    assert cli.main(["simulate", "dev", "--csv", str(tmp_path / "empty.csv")]) == 2
    assert cli.main(["simulate", "staging"]) == 2
    assert "no Pulumi.staging.yaml in" in capsys.readouterr().err


SCENARIOS = sorted(profiles.BUILT_IN)
# The tests of one scenario's default run share it (`default_runs`): grouped for one xdist worker.
ON_ONE_WORKER = [
    pytest.param(scenario, marks=pytest.mark.xdist_group(f"capacity-{scenario}")) for scenario in SCENARIOS
]
# The default runs' factor (the command's default: asserted in the plot's test), and the --factor
# of the shorter runs: the load their series are checked against.
FACTOR = "5"
TO_CAPACITY = "from the first shortfall to enough capacity"
OVER_REQUESTS = "time over 100 % of requests"
SCALE_DOWN = "from the load's drop to the last scale-down"
DURATION = re.compile(r"^(?:(\d+) h )?(\d+) min (\d\d) s")
# Lines this many pixels apart (at the saved resolution) can be told apart.
APART_PIXELS = 10


def read_rows(path: Path) -> list[Row]:
    """The series a command wrote (<name>.csv)."""
    with path.open() as handle:
        return [
            Row(
                int(r["seconds"]),
                float(r["load"]),
                int(r["ready"]),
                int(r["desired"]),
                float(r["cpu_utilization"]),
                float(r["memory_utilization"]),
            )
            for r in csv.DictReader(handle)
        ]


def _cells(summary: str) -> dict[str, tuple[str, str]]:
    """The summary table: row label -> (this stack's behavior, Kubernetes' default)."""
    cells = {}
    for line in summary.splitlines():
        parts = [part.strip() for part in line.strip("|").split("|")]
        if len(parts) == 3 and parts[0]:
            cells[parts[0]] = (parts[1], parts[2])
    return cells


def _seconds(cell: str) -> int:
    found = DURATION.match(cell)
    assert found, f"not a duration: {cell!r}"
    hours, minutes, seconds = (int(group or 0) for group in found.groups())
    return hours * 3600 + minutes * 60 + seconds


def _pods(count: int) -> str:
    return f"{count} pod{'' if count == 1 else 's'}"


def check_cells(settings, rows: list[Row], cells: dict[str, str]) -> None:
    """One column of the summary against the series it summarizes, as docs/capacity.md#what-the-figures-mean
    defines each row."""
    scaling, capacity = settings.backend.autoscaling, settings.capacity
    limit = 1 + capacity.tolerance

    def short(row: Row) -> bool:
        return row.cpu_utilization > scaling.target_cpu_utilization * limit or (
            row.memory_utilization > scaling.target_memory_utilization * limit
        )

    first = next((i for i, r in enumerate(rows) if short(r)), None)
    to_capacity = cells[TO_CAPACITY]
    if first is None:
        assert to_capacity == "never short"
    else:
        # To the first sync after which the pods stay within target for a minute.
        hold = 60 // capacity.sync_period_seconds
        back = [i for i in range(first + 1, len(rows) - hold + 1) if not any(map(short, rows[i : i + hold]))]
        if back:
            assert _seconds(to_capacity) == rows[back[0]].seconds - rows[first].seconds
        else:
            assert to_capacity == ("still short at the end" if short(rows[-1]) else "still short in the last minute")

    over = sum(capacity.sync_period_seconds for r in rows if r.cpu_utilization > 100 or r.memory_utilization > 100)
    if over:
        assert _seconds(cells[OVER_REQUESTS]) == over
    else:
        assert cells[OVER_REQUESTS] == "never"

    final = _pods(rows[-1].desired)
    peak = max(r.load for r in rows)
    last_peak = max(i for i, r in enumerate(rows) if r.load == peak)
    scale_down = cells[SCALE_DOWN]
    if last_peak == len(rows) - 1:
        assert scale_down == f"the load never dropped ({final})"
        return
    drop = rows[last_peak + 1].seconds
    changes = [r.seconds for prev, r in itertools.pairwise(rows) if r.seconds >= drop and r.desired != prev.desired]
    behavior = scaling.behavior.scale_down
    window = behavior.stabilization_window_seconds + max(p.period_seconds for p in behavior.policies)
    settled = rows[-1].seconds - (changes[-1] if changes else drop) > window
    if not changes:
        assert scale_down == f"no scale-down {'' if settled else 'by the end '}(stayed at {final})"
    elif not settled:
        assert scale_down == f"not settled by the end ({final})"
    else:
        assert scale_down.endswith(f" (to {final})")
        assert _seconds(scale_down) == changes[-1] - drop


def check_summary(settings, folder: Path, name: str, load) -> list[Row]:
    """The command's <name>.md against its <name>.csv (this stack's behavior) and the same load
    under Kubernetes' default behavior; returns the CSV's rows."""
    rows = read_rows(folder / f"{name}.csv")
    cells = _cells((folder / f"{name}.md").read_text())
    assert set(cells) >= {TO_CAPACITY, OVER_REQUESTS, SCALE_DOWN}
    defaults = simulate(settings, load, rows[-1].seconds, kubernetes_defaults=True)
    for column, series in enumerate((rows, defaults)):
        check_cells(settings, series, {label: pair[column] for label, pair in cells.items()})
    # A sync is 15 s: no figure of a run is "0 min 00 s" (it is "never", or says what happened).
    assert "0 min 00 s" not in (folder / f"{name}.md").read_text()
    return rows


class DefaultRun(NamedTuple):
    root: Path  # the repository the command ran in: a copy of the stack file, and what it wrote
    figures: dict[str, Figure]  # the Figures it saved (saved_figures)
    printed: str  # its standard output

    def folder(self, stack: str) -> Path:
        """Where the files are: the default folder, build/capacity/<stack>."""
        return self.root / "build" / "capacity" / stack


DefaultRuns = Callable[[str, str], DefaultRun]


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory: pytest.TempPathFactory) -> DefaultRuns:
    """`simulate <stack> --scenario <scenario>`, the default run, for the tests that read it: its
    summary cells, the shape it covers, its plot, where it says it wrote its files (a diurnal run
    is 5,761 syncs, twice, and a plot half a second or more to save). In the default folder, under a
    copy of the repository's stack file (nothing written into the tree). Made once per module and
    worker, with its plot: the tests of the series and the summary read the same files a
    `--no-plot` run writes, and the plot's test then needs no second run of the same series."""
    runs: dict[tuple[str, str], DefaultRun] = {}

    def run(stack: str, scenario: str) -> DefaultRun:
        if (stack, scenario) not in runs:
            root = tmp_path_factory.mktemp(f"{stack}-{scenario}")
            shutil.copy2(cli.ROOT / f"Pulumi.{stack}.yaml", root / f"Pulumi.{stack}.yaml")
            printed = io.StringIO()
            with pytest.MonkeyPatch.context() as patch, saved_figures(patch) as figures, redirect_stdout(printed):
                patch.setattr(cli, "ROOT", root)
                assert cli.main(["simulate", stack, "--scenario", scenario]) == 0
            runs[(stack, scenario)] = DefaultRun(root, figures, printed.getvalue())
        return runs[(stack, scenario)]

    return run


def _simulate(stack: str, scenario: str, out: Path, *extra: str) -> list[Row]:
    args = ["simulate", stack, "--scenario", scenario, "--factor", FACTOR, "--out", str(out), "--no-plot", *extra]
    assert cli.main(args) == 0
    return _check(stack, scenario, out)


def _check(stack: str, scenario: str, out: Path) -> list[Row]:
    settings = cli.load_settings(stack)
    load = profiles.BUILT_IN[scenario](settings.capacity.load.baseline_load, float(FACTOR))
    return check_summary(settings, out, scenario, load)


@pytest.mark.parametrize("scenario", ON_ONE_WORKER)
def test_each_summary_cell_says_what_happened(
    stack: str, scenario: str, tmp_path: Path, default_runs: DefaultRuns
) -> None:
    """The default run; one that stops a sync after the first change past the load's drop (or
    after the drop, when nothing changes), too soon to know the count settled; and the first hour,
    the old default, in which the diurnal load only rises."""
    rows = _check(stack, scenario, default_runs(stack, scenario).folder(stack))
    peak = max(r.load for r in rows)
    drop = next(r.seconds for r, prev in zip(rows[1:], rows, strict=False) if prev.load == peak and r.load < peak)
    after = [r.seconds for prev, r in itertools.pairwise(rows) if r.seconds >= drop and r.desired != prev.desired]
    cut = (after[0] if after else drop) + cli.load_settings(stack).capacity.sync_period_seconds
    _simulate(stack, scenario, tmp_path / "cut", "--duration", str(cut))
    _simulate(stack, scenario, tmp_path / "hour", "--duration", "3600")


@pytest.mark.parametrize("scenario", ON_ONE_WORKER)
def test_a_scenarios_default_run_covers_its_whole_shape(stack: str, scenario: str, default_runs: DefaultRuns) -> None:
    """Every load the scenario ever takes (over two days of syncs: diurnal repeats daily, the others
    stay at their base) is in the default run's series, and the run ends at the base."""
    folder = default_runs(stack, scenario).folder(stack)
    settings = cli.load_settings(stack)
    base = settings.capacity.load.baseline_load
    load = profiles.BUILT_IN[scenario](base, float(FACTOR))
    rows = read_rows(folder / f"{scenario}.csv")
    shape = {load(t) for t in range(0, 2 * profiles.DAY + 1, settings.capacity.sync_period_seconds)}
    assert shape - {r.load for r in rows} == set()
    assert rows[-1].load == pytest.approx(base)


def test_a_recorded_profile_runs_past_its_last_row(stack: str, tmp_path: Path) -> None:
    base = cli.load_settings(stack).capacity.load.baseline_load
    recorded = tmp_path / "recorded.csv"
    recorded.write_text(f"0,{base}\n600,{base * 3}\n4000,{base}\n")
    out = tmp_path / "out"
    assert cli.main(["simulate", stack, "--csv", str(recorded), "--out", str(out), "--no-plot"]) == 0
    load, _ = profiles.from_csv(recorded)
    rows = check_summary(cli.load_settings(stack), out, "recorded", load)
    assert rows[-1].seconds > 4000


def _wrote(out: str) -> str:
    """The last line, after a blank one, as `./tasks.sh render` ends."""
    lines = ["", "", *out.splitlines()]
    assert lines[-2] == "", out
    return lines[-1]


@pytest.mark.xdist_group("capacity-spike")  # it reads the spike's default run (default_runs)
def test_simulate_says_where_it_wrote_its_files(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], default_runs: DefaultRuns
) -> None:
    # `simulate <stack> --scenario spike`: the default folder, under a copy of the repository's stack file.
    run = default_runs(stack, "spike")
    folder = run.root / "build" / "capacity" / stack
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["spike.csv", "spike.md", "spike.png"]
    out = run.printed
    assert out.startswith((folder / "spike.md").read_text())
    assert _wrote(out) == f"Wrote {len(files)} files to {folder}"
    assert cli.main(["simulate", stack, "--scenario", "spike", "--no-plot", "--out", str(tmp_path / "other")]) == 0
    assert _wrote(capsys.readouterr().out) == f"Wrote 2 files to {tmp_path / 'other'}"
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["spike.csv", "spike.md"]


def test_pr_says_where_it_wrote_its_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every stack's maxReplicas one lower at the base (one higher where it cannot shrink): a
    before-and-after section per stack, the plots' folder on stderr (stdout is the pull request's
    comment)."""
    from revisions import git as revisions

    base = tmp_path / "base"
    base.mkdir()
    stacks = sorted(revisions.stacks_in(cli.ROOT))
    for stack in stacks:
        scaling = validated(stack)[0].backend.autoscaling
        top = scaling.max_replicas - 1 if scaling.max_replicas > scaling.min_replicas else scaling.max_replicas + 1
        config = changed(stack, {"backend.autoscaling.maxReplicas": top})
        (base / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))

    @contextmanager
    def checkout(revision):
        yield base

    monkeypatch.setattr(revisions, "checkout", checkout)
    out = tmp_path / "plots"
    assert cli.main(["pr", "--base", "HEAD", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    for stack in stacks:
        assert f"### {stack}: step, before" in captured.out
        assert f"### {stack}: step, after" in captured.out
    plots = sorted(p.name for p in out.iterdir())
    assert plots == sorted(f"{stack}-{label}.png" for stack in stacks for label in ("before", "after"))
    assert _wrote(captured.err) == f"Wrote {len(plots)} files to {out}"
    assert "Wrote" not in captured.out


@contextmanager
def saved_figures(monkeypatch: pytest.MonkeyPatch):
    """The matplotlib Figures the command saved, by file name: each one once its save returned,
    laid out and drawn as in the file."""
    figures: dict[str, Figure] = {}
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        saved = original(self, fname, *args, **kwargs)
        figures[Path(fname).name] = self
        return saved

    monkeypatch.setattr(Figure, "savefig", savefig)
    yield figures


def _ydata(line: Line2D) -> list[float]:
    return np.asarray(line.get_ydata(), dtype=float).tolist()


def check_figure(settings, figure: Figure, rows: list[Row]) -> None:
    """Every labelled line in a legend, the load's line among them; no legend over any axes' data
    area or past the figure's edge; the load's lowest and highest values drawn apart from the min
    and max replica lines. On the Figure as savefig left it (saved_figures): laid out and drawn as
    it was saved. Drawing it again would cost as much as the save and lay it out anew, up to a
    hundredth of a pixel away from the saved image (constrained layout moves on each pass)."""
    legends = [legend for axes in figure.axes if (legend := axes.get_legend())] + list(figure.legends)
    entries = {text.get_text() for legend in legends for text in legend.get_texts()}
    lines = [(axes, line) for axes in figure.axes for line in axes.get_lines()]
    for _, line in lines:
        assert str(line.get_label()).startswith("_") or line.get_label() in entries
    loads = [r.load for r in rows]
    load_axes, load_line = next((a, line) for a, line in lines if _ydata(line) == loads)
    assert load_line.get_label() in entries

    edge = figure.bbox
    for legend in legends:
        box = legend.get_window_extent()
        assert edge.x0 <= box.x0 <= box.x1 <= edge.x1
        assert edge.y0 <= box.y0 <= box.y1 <= edge.y1
        for axes in figure.axes:
            assert not box.overlaps(axes.get_window_extent()), legend.get_texts()[0].get_text()

    scaling = settings.backend.autoscaling

    def constant_at(value: int):
        return next(a for a, line in lines if len(set(_ydata(line))) == 1 and _ydata(line)[0] == value)

    replica_axes = constant_at(scaling.min_replicas)
    assert constant_at(scaling.max_replicas) is replica_axes
    assert replica_axes is not load_axes
    low, high = load_axes.get_ylim()
    assert low <= min(loads) <= max(loads) <= high
    for value in {min(loads), max(loads)}:
        drawn = load_axes.transData.transform((0, value))[1]
        for count in (scaling.min_replicas, scaling.max_replicas):
            line = replica_axes.transData.transform((0, count))[1]
            assert abs(drawn - line) >= APART_PIXELS, (value, count, replica_axes.get_ylim(), load_axes.get_ylim())


@pytest.mark.parametrize("scenario", ON_ONE_WORKER)
def test_the_plot_tells_every_line_apart(stack: str, scenario: str, default_runs: DefaultRuns) -> None:
    assert float(FACTOR) == cli.FACTOR  # the shared run is the command's default run
    run = default_runs(stack, scenario)
    folder, figures = run.folder(stack), run.figures
    assert list(figures) == [f"{scenario}.png"]
    assert (folder / f"{scenario}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check_figure(cli.load_settings(stack), figures[f"{scenario}.png"], read_rows(folder / f"{scenario}.csv"))
