"""Shared fixtures: every stack file is a test case, each program run happens once per session."""

from __future__ import annotations

import pytest
from helpers import valid_settings

from offline.harness import RunResult, run_stack, stack_names
from settings.stack import StackSettings


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Parametrized from the files on disk: a new Pulumi.<stack>.yaml is covered with no code change.
    if "stack" in metafunc.fixturenames:
        metafunc.parametrize("stack", stack_names())


_RUNS: dict[str, RunResult] = {}


@pytest.fixture
def result(stack: str) -> RunResult:
    """The program's registrations for ``stack``, run once per session and shared."""
    if stack not in _RUNS:
        _RUNS[stack] = run_stack(stack)
    return _RUNS[stack]


@pytest.fixture
def settings(stack: str) -> StackSettings:
    """The stack's validated settings, read from its file without Pulumi."""
    return valid_settings(stack)
