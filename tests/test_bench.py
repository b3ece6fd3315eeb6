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
    assert "pulumi_aws.kms" in modules
    assert all(m.split(".")[0] in ("pulumi", "pulumi_kubernetes", "pulumi_aws", "pulumiverse_grafana") for m in modules)
    # Nothing broad: the program never imports a whole provider package.
    assert "pulumi_kubernetes" not in modules
    assert "pulumi_aws" not in modules


def test_measure_reports_each_run_and_a_peak() -> None:
    walls, peak = bench.measure([sys.executable, "-c", "pass"], runs=2)
    assert len(walls) == 2
    assert all(w > 0 for w in walls)
    assert peak > 1024  # KiB: an interpreter is more than 1 MiB


def test_measure_stops_on_a_failing_command() -> None:
    with pytest.raises(SystemExit, match="benchmark command failed"):
        bench.measure([sys.executable, "-c", "raise SystemExit(3)"], runs=1)


def _fake_valgrind(tmp_path, monkeypatch, stderr: str, code: int = 0) -> None:
    fake = tmp_path / "valgrind"
    fake.write_text(f"#!/bin/sh\necho '{stderr}' >&2\nexit {code}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")


def test_instructions_reads_callgrinds_count(tmp_path, monkeypatch) -> None:
    _fake_valgrind(tmp_path, monkeypatch, "==1== Collected : 2821000123")
    assert bench.instructions([sys.executable, "-c", "pass"]) == 2821000123


def test_instructions_stops_when_valgrind_fails_or_is_missing(tmp_path, monkeypatch) -> None:
    _fake_valgrind(tmp_path, monkeypatch, "valgrind: no such tool", code=1)
    with pytest.raises(SystemExit, match="failed under valgrind"):
        bench.instructions([sys.executable, "-c", "pass"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit, match="needs valgrind"):
        bench.instructions([sys.executable, "-c", "pass"])


def test_commands_run_with_a_bytecode_cache_outside_the_tree(tmp_path, monkeypatch) -> None:
    # This machine's shell sets PYTHONDONTWRITEBYTECODE: left in, every render would recompile
    # the program's sources while the floor reads the SDK's install-time caches.
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    module = tmp_path / "src" / "bench_probe.py"
    module.parent.mkdir()
    module.write_text("VALUE = 1\n")
    cache = tmp_path / "cache"
    env = bench.environment(cache)
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONHASHSEED"] == "0"
    bench.warm(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(module.parent)!r}); import bench_probe"], env
    )
    probe = f"bench_probe.cpython-{sys.version_info[0]}{sys.version_info[1]}.pyc"
    assert probe in {p.name for p in cache.rglob("*.pyc")}
    assert not (module.parent / "__pycache__").exists()
