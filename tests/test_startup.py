"""Start-up: the program imports with the garbage collector paused, then freezes what it built."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from offline.harness import ROOT, StackRun

# Runs a render as `python -m offline.render` does, recording every collection the collector
# starts: its generation, and how many objects were frozen at that moment.
_RECORD = """
import gc, json, runpy, sys
seen = []
gc.callbacks.append(lambda phase, info: seen.append([info["generation"], gc.get_freeze_count()])
                    if phase == "start" else None)
sys.argv = ["offline.render", "--stack", sys.argv[1], "--out", sys.argv[2]]
try:
    runpy.run_module("offline.render", run_name="__main__", alter_sys=True)
finally:
    print(json.dumps({"collections": seen, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def test_no_full_collection_scans_the_imports_before_they_are_frozen(stack: str, tmp_path) -> None:
    # Before the pause, three full collections ran while the SDK and the program were importing,
    # each scanning every object imported so far (0.23 G instructions of a prod render).
    completed = subprocess.run(
        [sys.executable, "-c", _RECORD, stack, str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(completed.stdout.splitlines()[-1])
    unfrozen_full = [c for c in report["collections"] if c[0] == 2 and c[1] == 0]
    assert unfrozen_full == []
    assert report["enabled"] is True
    # What the imports built is frozen: the SDK alone leaves some 100,000 long-lived objects.
    assert report["frozen"] > 100_000
    # The collector did run during the render: it was paused, not switched off.
    assert report["collections"] != []


@pytest.fixture
def collector():
    """Whatever a test does to the collector, the rest of the worker gets it back on."""
    yield
    gc.enable()


def test_a_failing_import_leaves_the_collector_on(monkeypatch, collector) -> None:
    monkeypatch.setitem(sys.modules, "settings.loader", None)  # `import` of it now raises
    with pytest.raises(ImportError):
        StackRun("dev").execute()
    assert gc.isenabled()


def test_a_caller_that_had_the_collector_off_keeps_it_off(collector) -> None:
    gc.disable()
    StackRun("dev").execute()
    assert not gc.isenabled()
