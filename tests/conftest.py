"""Shared fixtures: every stack file is a test case, each program run happens once per session."""

from __future__ import annotations

import gc

import pytest
from helpers import shared_run_stack, valid_settings

from offline.harness import RunResult, stack_names
from settings.stack import StackSettings


def pytest_collection_finish(session: pytest.Session) -> None:
    # What is alive once the tests are collected (the SDKs' modules and classes, every test module)
    # lives the whole session: frozen, the collector stops walking it on each collection the
    # program runs trigger. It spares each in-process program run about an eighth of its time.
    gc.freeze()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrized from the files on disk: a new Pulumi.<stack>.yaml is covered with no code change.
    if "stack" in metafunc.fixturenames:
        metafunc.parametrize("stack", stack_names())


@pytest.fixture
def result(stack: str) -> RunResult:
    """The program's registrations for ``stack``, run once per session and shared (helpers.shared_run_stack)."""
    return shared_run_stack(stack)


@pytest.fixture
def settings(stack: str) -> StackSettings:
    """The stack's validated settings, read from its file without Pulumi."""
    return valid_settings(stack)
