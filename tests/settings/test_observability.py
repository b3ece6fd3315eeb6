"""The observability settings (settings/observability.py) refuse a bad value with one line naming
the key, the value and what is allowed; a stack that breaks one registers nothing."""

from __future__ import annotations

import pytest
from helpers import problems, run_changed

NS = "reconciliation-platform"
CASES = {
    "duration": (
        "dev",
        {"grafana.alerts.dbQueryLatencyP95.for": "5 minutes"},
        f'{NS}:grafana.alerts.dbQueryLatencyP95.for = "5 minutes": expected a duration such as 30s, 5m or 1h30m '
        "(whole h, m and s, largest first, above 0)",
    ),
    "uid": (
        "dev",
        {"grafana.datasourceUid": "has space"},
        f"{NS}:grafana.datasourceUid = \"has space\": expected a Grafana uid: 1-40 letters, digits, '-' or '_'",
    ),
    "url": (
        "dev",
        {"grafana.url": "grafana.example.com"},
        f'{NS}:grafana.url = "grafana.example.com": expected an http(s) URL such as https://grafana.example.com, '
        "no query or fragment",
    ),
    "ratio": (
        "dev",
        {"grafana.alerts.cacheHitRate.threshold": 60},
        f"{NS}:grafana.alerts.cacheHitRate.threshold = 60: expected a ratio between 0 and 1 exclusive, such as 0.6 "
        "for 60 %",
    ),
    "minimum traffic": (
        "dev",
        {"grafana.alerts.cacheHitRate.minLookupRate": 0},
        f"{NS}:grafana.alerts.cacheHitRate.minLookupRate = 0: Input should be greater than 0",
    ),
    "severity": (
        "dev",
        {"grafana.alerts.dbPoolUtilization.severity": "page"},
        f"{NS}:grafana.alerts.dbPoolUtilization.severity = \"page\": Input should be 'critical', 'warning' or 'info'",
    ),
}


@pytest.mark.parametrize(("stack_name", "changes", "line"), CASES.values(), ids=CASES.keys())
def test_one_clear_line_per_problem(stack_name: str, changes: dict, line: str) -> None:
    # Through the real program: a RunError with exactly this line, and nothing registered.
    assert problems(run_changed(stack_name, changes)) == [line]


def test_a_broken_observability_setting_stops_the_program_before_anything_registers() -> None:
    # problems() checks the RunError and that nothing was registered.
    lines = problems(run_changed("prod", {"grafana.alerts.cacheHitRate.threshold": 1.5}))
    assert lines == [
        f"{NS}:grafana.alerts.cacheHitRate.threshold = 1.5: expected a ratio between 0 and 1 exclusive, such as 0.6 "
        "for 60 %"
    ]
