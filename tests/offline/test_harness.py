"""The harness that runs the real program for the render and the tests: each run on a thread and an
event loop of its own, and each stack file parsed once per content."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import warnings
from pathlib import Path

import pulumi
import pytest
import yaml
from helpers import changed

from offline import harness
from offline.harness import StackRun, stack_document


def _frames_sent(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The files of each call stack the SDK sends with a registration (RegisterResourceRequest's
    stackTrace, made by pulumi.runtime.resource._get_stack_trace), as the engine would receive it."""
    sent: list[list[str]] = []
    register = harness._Monitor.RegisterResource

    def recording(self, request):
        sent.append([frame.pc.uri for frame in request.stackTrace.frames])
        return register(self, request)

    monkeypatch.setattr(harness._Monitor, "RegisterResource", recording)
    return sent


def test_a_run_sends_the_programs_call_stack_not_its_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK walks, reads and sends the whole call stack of every resource it registers: from the
    caller's thread that would be pytest's frames too (some 35 more, a fifth of a run's cost), and
    an engine would record them as where each resource was declared."""
    sent = _frames_sent(monkeypatch)
    StackRun("dev").execute()
    frames = [uri for stack in sent for uri in stack]
    assert any(uri.endswith("/__main__.py") for uri in frames)  # the program's own frames are there
    assert not [uri for uri in frames if "/_pytest/" in uri or "/pluggy/" in uri or uri.endswith("/test_harness.py")]


def test_a_run_neither_uses_nor_leaves_the_callers_event_loop() -> None:
    """Each run is a process of its own to Pulumi: its thread and loop end with it, so nothing a
    stopped run left pending resumes in the next, and the caller's loop is not touched. The caller
    here is a thread of the test's own, whose loop it sets: the worker's main thread keeps its own."""
    seen: dict[str, object] = {}

    def caller() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            before = {thread.ident for thread in threading.enumerate()}
            StackRun("dev").execute()
            seen["loop"] = asyncio.get_event_loop() is loop and not loop.is_closed()
            seen["threads"] = {thread.ident for thread in threading.enumerate()} - before
        finally:
            loop.close()

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join()
    assert seen == {"loop": True, "threads": set()}  # the caller's loop as it was; the run's threads ended


class _Closing(harness._Mocks):
    """The harness's mocks, noting when the run closes them and in what state its loop then was."""

    def close(self) -> None:
        loop = asyncio.get_event_loop()
        self.closed_with = (loop, loop.is_closed())


def test_a_run_closes_its_mocks_before_it_ends_its_loop_then_closes_the_loop() -> None:
    """The rehearsal's mocks wait in ``close`` for requests under way (EmulatorMocks): they must be
    closed while the run's loop still runs its tasks, and the loop ended after."""
    mocks = _Closing()
    StackRun("dev", mocks=mocks).execute()
    loop, closed = mocks.closed_with
    assert not closed  # closed while the run's loop was still open
    assert loop.is_closed()  # and the loop ended after it


def test_a_run_leaves_no_event_loop_unclosed() -> None:
    """The SDK makes an event loop in each executor thread without one and never closes it; the
    run's executor gives its threads theirs and closes them (offline/harness.py, ``_Executor``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        StackRun("dev").execute()
        gc.collect()
    assert [str(w.message) for w in caught if "unclosed event loop" in str(w.message)] == []


class _FailingClose(harness._Mocks):
    def close(self) -> None:
        raise RuntimeError("the mocks could not close")


def test_a_clean_up_that_fails_fails_the_run_unless_the_run_failed_first() -> None:
    """Not an error left to the run thread's exception hook, with the render exiting 0."""
    with pytest.raises(RuntimeError, match="could not close"):
        StackRun("dev", mocks=_FailingClose()).execute()
    config, secret_keys = harness.to_wire(changed("dev", {"backend.port": 0}))
    with pytest.raises(pulumi.RunError, match=r"backend\.port"):
        StackRun("dev", config, secret_keys, mocks=_FailingClose()).execute()


def test_a_runs_error_is_raised_on_the_callers_thread() -> None:
    config, secret_keys = harness.to_wire(changed("dev", {"backend.port": 0}))
    with pytest.raises(pulumi.RunError, match=r"backend\.port"):
        StackRun("dev", config, secret_keys).execute()


def test_a_stack_file_is_parsed_once_per_content_and_each_caller_gets_its_own_copy(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.scratch.yaml"
    path.write_text(yaml.safe_dump({"config": {"reconciliation:backend": {"port": 8080}}}))
    harness._parsed.cache_clear()
    first = stack_document("scratch", tmp_path)
    first["reconciliation:backend"]["port"] = 1  # a caller's change stays its own
    assert stack_document("scratch", tmp_path) == {"reconciliation:backend": {"port": 8080}}
    assert (harness._parsed.cache_info().misses, harness._parsed.cache_info().hits) == (1, 1)
    path.write_text(yaml.safe_dump({"config": {"reconciliation:backend": {"port": 9090}}}))  # same size
    assert stack_document("scratch", tmp_path) == {"reconciliation:backend": {"port": 9090}}
    assert harness._parsed.cache_info().misses == 2


def test_a_failed_run_reports_its_error_once_not_from_every_output_that_held_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A definition the cluster lacks fails its read, and every output built on it holds the same
    error: collected, each would log asyncio's "Future exception was never retrieved" with a
    traceback (some 900 in a run). The run raises it once; other loop errors still reach asyncio."""
    crds = harness.cluster_crds()
    del crds["externalsecrets.external-secrets.io"]
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(Exception, match="does not exist"):
            StackRun("prod", crds=crds).execute()
        # The SDK keeps a failed output until the next run starts (pulumi.runtime.settings' outputs):
        # the next run, then a collection, lets them go.
        StackRun("dev").execute()
        gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []

    loop = asyncio.new_event_loop()
    try:
        never = {"message": "Future exception was never retrieved", "exception": RuntimeError("lost")}
        other = {"message": "Exception in callback", "exception": RuntimeError("a callback's")}
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            harness._unretrieved_after_failure([], loop, never)  # a run that succeeded: reported
            harness._unretrieved_after_failure([RuntimeError("failed")], loop, other)  # not that kind: reported
            harness._unretrieved_after_failure([RuntimeError("failed")], loop, never)  # the failure's echo
        assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == [
            "Future exception was never retrieved",
            "Exception in callback",
        ]
    finally:
        loop.close()
