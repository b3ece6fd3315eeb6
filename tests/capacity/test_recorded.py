"""Replay and rightsizing against a real Prometheus (Debian's `prometheus`), started on 127.0.0.1
with a TSDB backfilled from generated cAdvisor data (`promtool tsdb create-blocks-from openmetrics`),
stopped afterwards.

prod's record covers a week and three hours, so both commands run over the windows they document
(rightsize: the last 7 days; replay: a week); every other stack's covers its last RECENT seconds,
enough for each command's output (its files, where it says they are, the replay's plot).
Prometheus refuses a range query whose (end - start) / step exceeds 11,000 (queryRange in
prometheus/prometheus web/api/v1/api.go, "exceeded maximum resolution of 11,000 points per
timeseries"), about 46 h at the 15 s step, so a week only works if the client splits it. Expected
figures come from the stacks' parsed settings (`cli.load_settings`), never from the stack files' text."""

from __future__ import annotations

import csv
import difflib
import itertools
import math
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import required_tool
from matplotlib import dates

from capacity import __main__ as cli
from capacity import recorded
from capacity.recorded import percentile
from components.kubernetes.pod import CONTAINER
from offline.harness import stack_names
from settings.quantity import parse_quantity
from tests.capacity.test_main import check_figure, check_summary, read_rows, saved_figures

# One Prometheus (its week of TSDB built and started once) for the whole module: grouped for one xdist worker.
pytestmark = pytest.mark.xdist_group("prometheus")

MIB = 1024 * 1024
STEP = 15
WEEK = 7 * 86400
MARGIN = 3 * 3600  # recorded before the last week: room for the gap below, outside the default window
GAP = (60 * 60, 80 * 60)  # seconds after prod's start with no samples at all
RECENT = 6 * 3600  # the other stacks' record: the last six hours


def _pods_and_labels(stack: str) -> tuple[tuple[str, ...], str]:
    # The pods the stack's queries select: its namespace and its Deployment's pod names.
    settings = cli.load_settings(stack)
    name = settings.object_name("deployment")
    pods = (f"{name}-5d8f7c9b4-aaaaa", f"{name}-5d8f7c9b4-bbbbb")
    return pods, f'namespace="{settings.kubernetes.namespace}",container="{CONTAINER}",pod="{{pod}}"'


def _cores(t: float) -> float:
    return 0.08 + 0.04 * math.sin(t / 900)


def _memory(t: float) -> int:
    return int(150 * MIB + 20 * MIB * math.sin(t / 1200))


def _scale(stack: str) -> tuple[float, float]:
    """prod's usage as generated; another stack's scaled to its own requests (CPU about 30 % of its
    request, memory about half), so that what rightsizing recommends validates against its limits."""
    if stack == "prod":
        return 1.0, 1.0
    requests = cli.load_settings(stack).backend.resources.requests
    return 0.3 * float(parse_quantity(requests.cpu)) / 0.08, 0.5 * float(parse_quantity(requests.memory)) / (150 * MIB)


def _openmetrics(start: int, end: int) -> str:
    """Every 15 s for each pod, but in prod's gap: ~160,000 samples for prod's week, built in one
    pass (about 0.5 s; the line-by-line loop took twice that); each other stack's last RECENT seconds."""
    every = range(0, end - start, STEP)
    # The counter grows by each interval's usage, the gap included (cAdvisor keeps counting).
    totals = list(itertools.accumulate(_cores(t) * STEP for t in every))
    records = []  # (labels per pod, sample offsets from start, CPU and memory scale)
    for stack in stack_names():
        pods, labels = _pods_and_labels(stack)
        if stack == "prod":
            offsets = [t for t in every if not GAP[0] <= t < GAP[1]]
        else:
            offsets = list(range((end - start - RECENT) // STEP * STEP, end - start, STEP))
        records += [(labels.format(pod=pod), offsets, *_scale(stack)) for pod in pods]
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    for labels, offsets, cpu, _ in records:
        prefix = f"container_cpu_usage_seconds_total{{{labels}}} "
        lines += [f"{prefix}{totals[t // STEP] * cpu:.3f} {start + t}" for t in offsets]
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for labels, offsets, _, memory in records:
        prefix = f"container_memory_working_set_bytes{{{labels}}} "
        lines += [f"{prefix}{int(_memory(t) * memory)} {start + t}" for t in offsets]
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory):
    server, promtool = required_tool("prometheus"), required_tool("promtool")
    folder = tmp_path_factory.mktemp("prometheus")
    end = int(time.time()) // STEP * STEP - 300
    start = end - WEEK - MARGIN
    (folder / "data.om").write_text(_openmetrics(start, end))
    # promtool writes 2 h blocks by default and re-reads the whole input for each: 86 passes and
    # blocks for a week, 36 s on this machine. Its hidden --max-block-duration (cmd/promtool/main.go;
    # backfill.go's getCompatibleBlockDuration takes the largest compatible range, 486 h) makes it
    # one or two passes and blocks: about 1 s.
    subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            "--max-block-duration=744h",
            str(folder / "data.om"),
            str(folder / "tsdb"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            server,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError((folder / "prometheus.log").read_text()[-2000:])
            time.sleep(0.2)
        yield url, start, end
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _after_gap(start: int, end: int) -> list[str]:
    return ["--from", str(start + GAP[1] + 600), "--to", str(end)]


def test_replay_over_a_week(prometheus, tmp_path: Path) -> None:
    """The one-week replay (docs/capacity.md#replay-and-rightsizing): more than 11,000 points per
    series, so several requests."""
    url, _, end = prometheus
    args = ["replay", "prod", "--prometheus", url, "--from", str(end - WEEK), "--to", str(end)]
    assert cli.main([*args, "--out", str(tmp_path), "--no-plot"]) == 0
    with (tmp_path / "replay.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == WEEK // STEP + 1  # a 15 s sync over the whole week, none missing
    # The recorded CPU of both pods, back through prod's load model.
    model = cli.load_settings("prod").capacity.load
    # The first sample is the window's start, MARGIN after the record's.
    expected = (2 * _cores(MARGIN) * 1000 - 2 * model.cpu_millicores_baseline) / model.cpu_millicores_per_unit
    assert float(rows[0]["load"]) == pytest.approx(expected, rel=0.1)
    assert (tmp_path / "replay.md").read_text().startswith("### prod: replay")


def test_replay_plots_clock_time_and_says_where_it_wrote_its_files(
    prometheus, stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The last hours of each stack's record: the summary says what happened in the replayed series,
    the plot's x-axis is the window's clock time (dates, UTC), and the command says where its files are."""
    url, _, end = prometheus
    since = end - RECENT + 600
    args = ["replay", stack, "--prometheus", url, "--from", str(since), "--to", str(end), "--out", str(tmp_path)]
    with saved_figures(monkeypatch) as figures:
        assert cli.main(args) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["replay.csv", "replay.md", "replay.png"]
    out = capsys.readouterr().out
    assert out.splitlines()[-2:] == ["", f"Wrote {len(files)} files to {tmp_path}"]

    settings = cli.load_settings(stack)
    rows = read_rows(tmp_path / "replay.csv")
    by_second = {r.seconds: r.load for r in rows}  # the replayed load at each sync, as the CSV has it
    check_summary(settings, tmp_path, "replay", by_second.__getitem__)
    figure = figures["replay.png"]
    check_figure(settings, figure, rows)
    for axes in figure.axes:
        assert type(axes.xaxis.get_converter()).__module__ == dates.__name__
        formatter = axes.xaxis.get_major_formatter()
        assert isinstance(formatter, dates.DateFormatter | dates.AutoDateFormatter | dates.ConciseDateFormatter)
    first, last = (moment.timestamp() for moment in dates.num2date(figure.axes[0].get_xlim()))
    assert first <= since + STEP
    assert last >= since + rows[-1].seconds


def test_rightsize_says_what_it_wrote(
    prometheus, stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --write nothing is written, and the command says where --write would write; with it
    (on a copy of the stack file), the file it wrote, holding the requests it printed."""
    url, _, end = prometheus
    args = ["rightsize", stack, "--prometheus", url, "--from", str(end - RECENT + 600), "--to", str(end)]
    assert cli.main(args) == 0
    stack_file = cli.ROOT / f"Pulumi.{stack}.yaml"
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "",
        f"Nothing written: --write puts the recommended requests into {stack_file}",
    ]
    shutil.copy2(stack_file, tmp_path / stack_file.name)
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    assert cli.main([*args, "--write"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-2:] == ["", f"Wrote the recommended requests to {tmp_path / stack_file.name} (validated)"]
    printed = {
        cells[1].strip(): cells[3].strip()
        for cells in (line.split("|") for line in out.splitlines() if line.startswith(("| cpu ", "| memory ")))
    }
    requests = cli.load_settings(stack).backend.resources.requests
    assert printed == {"cpu": requests.cpu, "memory": requests.memory}


def test_rightsize_over_the_default_week_writes_only_the_requests(
    prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, start, end = prometheus
    settings = cli.load_settings("prod")
    original = (cli.ROOT / "Pulumi.prod.yaml").read_text()
    shutil.copy2(cli.ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    monkeypatch.setattr(cli, "ROOT", tmp_path)  # the copy is written, never the repository's file
    before = time.time()
    assert cli.main(["rightsize", "prod", "--prometheus", url, "--write"]) == 0  # the last 7 days
    after = time.time()
    out = capsys.readouterr().out
    cpu_line, memory_line = (line for line in out.splitlines() if line.startswith(("| cpu", "| memory")))

    # The whole week was read: more per-pod samples than one request may return per series.
    samples = int(cpu_line.split(" per-pod samples")[0].rsplit(" ", 1)[1])
    assert samples >= 2 * (WEEK - 3600) // STEP > 2 * recorded.MAX_POINTS

    # The window starts 7 days before the call; the record ends at `end`.
    window = range(math.ceil(after - WEEK - start), end - start + 1, STEP)
    widest = range(math.floor(before - WEEK - start) - STEP, end - start + 1, STEP)
    scaling, requests = settings.backend.autoscaling, settings.backend.resources.requests
    rules = settings.capacity.rightsizing

    def memory_mi(offsets: range) -> int:
        highest = max(_memory(t) for t in offsets)
        return math.ceil(
            max(highest * (1 + rules.memory_headroom), highest / (scaling.target_memory_utilization / 100)) / MIB
        )

    memory_cell = memory_line.split("|")[3].strip()
    assert memory_line.startswith(f"| memory | {requests.memory} | ")
    assert memory_mi(window) <= int(memory_cell.removesuffix("Mi")) <= memory_mi(widest)

    # CPU: the percentile of the 1-minute rates, close to that of the generated usage (the rate
    # averages four intervals), over the target, rounded up to 10m: within one rounding step.
    assert cpu_line.startswith(f"| cpu | {requests.cpu} | ")
    cpu_cell = cpu_line.split("|")[3].strip()
    p = percentile([_cores(t) for t in window], rules.cpu_percentile)
    expected = math.ceil(p / (scaling.target_cpu_utilization / 100) * 100) * 10
    assert abs(int(cpu_cell.removesuffix("m")) - expected) <= 10

    # --write changed the line holding the requests and nothing else.
    written = (tmp_path / "Pulumi.prod.yaml").read_text()
    changes = [line for line in difflib.ndiff(original.splitlines(), written.splitlines()) if line[:2] in {"- ", "+ "}]
    assert len(changes) == 2, changes
    old, new = changes[0][2:], changes[1][2:]
    assert new == old.replace(f"cpu: {requests.cpu}", f"cpu: {cpu_cell}").replace(
        f"memory: {requests.memory}", f"memory: {memory_cell}"
    )
    resources = cli.load_settings("prod").backend.resources
    assert (resources.requests.cpu, resources.requests.memory) == (cpu_cell, memory_cell)
    assert resources.limits == settings.backend.resources.limits


def test_a_week_is_fetched_in_chunks_prometheus_accepts(prometheus) -> None:
    """One request over a week is refused with Prometheus' own reason (queryRange in
    prometheus/prometheus web/api/v1/api.go: `end.Sub(start)/step > 11000` is bad_data); a request
    of recorded.MAX_POINTS points is accepted; the chunked query returns every 15 s point once."""
    url, _, end = prometheus
    query = recorded.queries(cli.load_settings("prod"))["memory"]
    with pytest.raises(ValueError, match=r"HTTP 400\): bad_data: exceeded maximum resolution of 11,000 points"):
        recorded._request(url, query, end - WEEK, end, STEP)
    largest = recorded._request(url, query, end - WEEK, end - WEEK + (recorded.MAX_POINTS - 1) * STEP, STEP)
    assert {len(s["values"]) for s in largest} == {recorded.MAX_POINTS}
    series = recorded.query_range(url, query, end - WEEK, end)
    assert len(series) == 2
    for one in series:
        times = [t for t, _ in one["values"]]
        assert times == list(range(end - WEEK, end + 1, STEP))


def test_prometheus_errors_are_shown_in_its_own_words(
    prometheus, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, start, end = prometheus
    with pytest.raises(ValueError, match=r"refused the query \(HTTP 400\): bad_data: .*parse error"):
        recorded.query_range(url, "sum by (pod) (", start, end)
    # Through the command: with chunks too long for Prometheus, its reason reaches the terminal.
    monkeypatch.setattr(recorded, "MAX_POINTS", 2 * recorded.MAX_POINTS)
    assert cli.main(["rightsize", "prod", "--prometheus", url]) == 2
    err = capsys.readouterr().err
    assert "exceeded maximum resolution of 11,000 points per timeseries" in err
    assert "Bad Request" not in err


@pytest.mark.parametrize(
    ("stack_name", "window", "message"),
    [
        ("prod", "short", "too little data to recommend from"),
        ("dev", "before-record", "no cpu series for the stack's pods"),
        ("prod", "across-gap", "the window has 1 gap(s) in the record"),
        ("prod", "unreachable", "cannot query Prometheus at http://127.0.0.1:9"),
    ],
)
def test_bad_input_gets_a_clear_error(
    prometheus, stack_name: str, window: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url, start, end = prometheus
    spans = {
        "short": ["--from", str(end - 600), "--to", str(end)],
        "before-record": ["--from", str(start - 7200), "--to", str(start - 600)],
        "across-gap": ["--from", str(start + 600), "--to", str(start + GAP[1] + 1200)],
        "unreachable": _after_gap(start, end),
    }
    target = "http://127.0.0.1:9" if window == "unreachable" else url
    assert cli.main(["rightsize", stack_name, "--prometheus", target, *spans[window]]) == 2
    assert message in capsys.readouterr().err
