"""Shared fixtures: every stack file is a test case, each program run happens once per session."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING

import pytest

# Nothing of the program or the SDKs at import: pytest-xdist's controller loads this file too, runs
# no test, and starts the workers only after it (the SDK's import would hold them back a second).
# Each hook and fixture imports what it uses, once the workers need it.
if TYPE_CHECKING:
    from offline.harness import RunResult
    from settings.stack import StackSettings

# Modules imported since the collector last froze what was alive, past which a test's end freezes again.
REFREEZE_AFTER = 200
_frozen_at = 0


def _freeze() -> None:
    global _frozen_at  # noqa: PLW0603 - the session's one counter
    gc.freeze()
    _frozen_at = len(sys.modules)


def pytest_collection_finish(session: pytest.Session) -> None:
    # What is alive once the tests are collected (the SDKs' modules and classes, every test module)
    # lives the whole session: frozen, the collector stops walking it on each collection the
    # program runs trigger. It spares each in-process program run about an eighth of its time.
    _freeze()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    # The first program run imports some 700 modules more (the services the SDKs load when first
    # used), the first plot matplotlib's, the first rehearsal moto's backends: frozen as well, once
    # the garbage of the test that imported them is collected.
    if len(sys.modules) - _frozen_at > REFREEZE_AFTER:
        gc.collect()
        _freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    # At exit the interpreter collects garbage over everything not frozen before it tears the modules
    # down: in a worker, what the tests left (kept runs, the emulator's backends), 2 to 3 seconds
    # the controller waits for. Frozen, that walk is skipped; the memory goes back all the same.
    gc.freeze()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrized from the files on disk: a new Pulumi.<stack>.yaml is covered with no code change.
    if "stack" in metafunc.fixturenames:
        from settings.stackfile import stack_names

        metafunc.parametrize("stack", stack_names())


@pytest.fixture
def result(stack: str) -> RunResult:
    """The program's registrations for ``stack``, run once per session and shared (helpers.shared_run_stack)."""
    from helpers import shared_run_stack

    return shared_run_stack(stack)


@pytest.fixture
def settings(stack: str) -> StackSettings:
    """The stack's validated settings, read from its file without Pulumi."""
    from helpers import valid_settings

    return valid_settings(stack)
