"""Shared fixtures: every stack file is a test case, each program run happens once per session."""

from __future__ import annotations

import gc

import pytest
from helpers import validated

from offline.harness import RunResult, run_stack, stack_names
from settings.stack import StackSettings

# The modules that cost the most CPU (program runs against the AWS emulator, renders in
# subprocesses, checkov, promtool and a Prometheus server), measured with a warm `./tasks.sh test`:
# collected first, so that with `--dist loadfile` (pyproject.toml: each module on one worker, its
# module-scoped renders and servers built once instead of once per worker) no long module is
# left to start last while the other worker idles.
SLOWEST_FIRST = (
    "test_aws_emulator.py",
    "test_diff.py",
    "test_render.py",
    "test_promtool.py",
    "test_compare.py",
    "test_capacity_recorded.py",
    "test_rehearse.py",
    "test_workflows.py",
    "test_startup.py",
    "test_provider.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first, each module's tests together and in their own order."""
    rank = {name: index for index, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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
    settings, problems = validated(stack)
    assert problems == []
    return settings


@pytest.fixture(autouse=True)
def _collect_what_renders_froze():
    """The program freezes what it imported (a one-shot process may); the tests run it many times
    in one process, so each test gives the collector back what its runs froze."""
    yield
    gc.unfreeze()
