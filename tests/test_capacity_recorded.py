"""Replay and rightsizing against a real Prometheus (Debian's `prometheus`), started on 127.0.0.1
with a TSDB backfilled from generated cAdvisor data (`promtool tsdb create-blocks-from openmetrics`),
stopped afterwards."""

from __future__ import annotations

import csv
import math
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import required_tool

from capacity import __main__ as cli

MIB = 1024 * 1024
STEP = 15
PODS = ("backend-5d8f7c9b4-aaaaa", "backend-5d8f7c9b4-bbbbb")
LABELS = 'namespace="reconciliation-platform",container="backend",pod="{pod}"'
GAP = (60 * 60, 80 * 60)  # seconds after the start with no samples at all


def _cores(t: float) -> float:
    return 0.08 + 0.04 * math.sin(t / 900)


def _memory(t: float) -> int:
    return int(150 * MIB + 20 * MIB * math.sin(t / 1200))


def _openmetrics(start: int, end: int) -> str:
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    for pod in PODS:
        used = 0.0
        for t in range(0, end - start, STEP):
            used += _cores(t) * STEP
            if not GAP[0] <= t < GAP[1]:
                lines.append(f"container_cpu_usage_seconds_total{{{LABELS.format(pod=pod)}}} {used:.3f} {start + t}")
    lines.append("# TYPE container_memory_working_set_bytes gauge")
    for pod in PODS:
        for t in range(0, end - start, STEP):
            if not GAP[0] <= t < GAP[1]:
                lines.append(f"container_memory_working_set_bytes{{{LABELS.format(pod=pod)}}} {_memory(t)} {start + t}")
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory):
    server, promtool = required_tool("prometheus"), required_tool("promtool")
    folder = tmp_path_factory.mktemp("prometheus")
    end = int(time.time()) // STEP * STEP - 300
    start = end - 3 * 3600
    (folder / "data.om").write_text(_openmetrics(start, end))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(folder / "data.om"), str(folder / "tsdb")],
        check=True,
        capture_output=True,
        timeout=60,
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


def test_replay_runs_the_simulator_over_the_recorded_load(prometheus, tmp_path: Path) -> None:
    url, start, end = prometheus
    args = ["replay", "prod", "--prometheus", url, *_after_gap(start, end), "--out", str(tmp_path), "--no-plot"]
    assert cli.main(args) == 0
    with (tmp_path / "replay.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 300
    # The recorded CPU of both pods, back through prod's load model: (2 x cores x 1000 - 2 x 20) / 4.
    t = start + GAP[1] + 600
    expected = (2 * _cores(t - start) * 1000 - 40) / 4
    assert float(rows[0]["load"]) == pytest.approx(expected, rel=0.1)
    assert (tmp_path / "replay.md").read_text().startswith("### prod: replay")


def test_rightsize_recommends_from_the_record_and_writes_the_stack_file(
    prometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, start, end = prometheus
    shutil.copy2(cli.ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    monkeypatch.setattr(cli, "ROOT", tmp_path)  # the copy is written, never the repository's file
    assert cli.main(["rightsize", "prod", "--prometheus", url, *_after_gap(start, end), "--write"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith(("| cpu", "| memory"))]
    window = range(GAP[1] + 600, end - start, STEP)
    highest = max(_memory(t) for t in window)
    peak = math.ceil(max(highest * 1.15, highest / 0.80) / MIB)  # under prod's 80 % memory target
    assert lines[1].startswith(f"| memory | 256Mi | {peak}Mi | ")
    cpu = int(lines[0].split("|")[3].strip().removesuffix("m"))
    assert 0.04 / 0.7 * 1000 <= cpu <= 0.13 / 0.7 * 1000  # p95 of 0.04-0.12 cores over the 70 % target
    assert "p95 of" in lines[0]
    written = (tmp_path / "Pulumi.prod.yaml").read_text()
    assert f"requests: {{cpu: {cpu}m, memory: {peak}Mi, ephemeralStorage: 256Mi}}" in written
    assert "# Production: the sizing of the capacity proposal." in written  # comments kept
    assert written.index("environment: prod") < written.index("backend:")  # key order kept
    assert cli.load_settings("prod").backend.resources.requests.memory == f"{peak}Mi"


@pytest.mark.parametrize(
    ("stack_name", "window", "message"),
    [
        ("prod", "short", "too little data to recommend from"),
        ("dev", "after-gap", "no cpu series for the stack's pods"),
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
        "after-gap": _after_gap(start, end),
        "across-gap": ["--from", str(start + 600), "--to", str(start + GAP[1] + 1200)],
        "unreachable": _after_gap(start, end),
    }
    target = "http://127.0.0.1:9" if window == "unreachable" else url
    assert cli.main(["rightsize", stack_name, "--prometheus", target, *spans[window]]) == 2
    assert message in capsys.readouterr().err
