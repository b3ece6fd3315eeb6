"""The benchmark's own logic: which SDK modules form the import floor, and how a run is measured."""

from __future__ import annotations

import sys

import pytest

from offline import bench


def test_floor_imports_exactly_the_sdk_modules_the_program_uses() -> None:
    modules = bench.sdk_imports()
    assert "pulumi" in modules
    assert "pulumi_kubernetes.apps.v1" in modules
    assert "pulumi_kubernetes.provider" in modules
    assert all(m.split(".")[0] in ("pulumi", "pulumi_kubernetes") for m in modules)
    # Nothing broad: the program never imports the whole provider package.
    assert "pulumi_kubernetes" not in modules


def test_measure_reports_each_run_and_a_peak() -> None:
    walls, peak = bench.measure([sys.executable, "-c", "pass"], runs=2)
    assert len(walls) == 2
    assert all(w > 0 for w in walls)
    assert peak > 1024  # KiB: an interpreter is more than 1 MiB


def test_measure_stops_on_a_failing_command() -> None:
    with pytest.raises(SystemExit, match="benchmark command failed"):
        bench.measure([sys.executable, "-c", "raise SystemExit(3)"], runs=1)
