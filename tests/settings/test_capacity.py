"""The capacity tools' settings (settings/capacity.py): one line naming the key, nothing registered."""

from __future__ import annotations

import pytest
from helpers import problems, run_changed

NS = "reconciliation-platform"
CASES = {
    "capacity load model": (
        "dev",
        {"capacity.load.cpuMillicoresPerUnit": 0},
        f"{NS}:capacity.load.cpuMillicoresPerUnit = 0: Input should be greater than 0",
    ),
    "capacity start-up": (
        "prod",
        {"capacity.podStartupSeconds": 0},
        f"{NS}:capacity.podStartupSeconds = 0: Input should be greater than or equal to 1",
    ),
}


@pytest.mark.parametrize(("stack_name", "changes", "line"), CASES.values(), ids=CASES.keys())
def test_one_clear_line_per_problem(stack_name: str, changes: dict, line: str) -> None:
    # Through the real program: a RunError with exactly this line, and nothing registered.
    assert problems(run_changed(stack_name, changes)) == [line]
