"""The observability rules (settings/rules/observability.py) refuse a bad value with one line naming
the key, the value and what is allowed; a stack that breaks one registers nothing."""

from __future__ import annotations

import json
import math

import pytest
from helpers import DELETE, problems, run_changed

from settings import metrics

NS = "reconciliation-platform"
CASES = {
    "latency above the buckets": (
        "dev",
        {"grafana.alerts.dbQueryLatencyP95.threshold": 2.5},
        f"{NS}:grafana.alerts.dbQueryLatencyP95.threshold = 2.5: below 2 s, the histogram's largest finite bucket: "
        "a p95 above it reads as 2 s",
    ),
    "scrape timeout": (
        "prod",
        {"backend.metrics.podMonitor.scrapeTimeout": "1m"},
        f'{NS}:backend.metrics.podMonitor.scrapeTimeout = "1m": must not exceed interval (30s); Prometheus '
        "refuses such a scrape config",
    ),
    "pod monitor without scraping": (
        "prod",
        {"backend.metrics.scrape": False},
        f"{NS}:backend.metrics.podMonitor.enabled = true: needs backend.metrics.scrape: true (the NetworkPolicy "
        "only admits Prometheus when scraping is on)",
    ),
    "rate window": (
        "prod",
        {"grafana.rateWindow": "1m"},
        f'{NS}:grafana.rateWindow = "1m": at least 4 scrape intervals (4 x 30s = 120s), or one missed scrape '
        "empties the rate",
    ),
    "evaluation interval": (
        "dev",
        {"grafana.evaluationInterval": "45s"},
        f'{NS}:grafana.evaluationInterval = "45s": a multiple of 10s up to 1h (Grafana\'s scheduler ticks every 10s)',
    ),
    "for not a multiple": (
        "dev",
        {"grafana.alerts.cacheHitRate.for": "90s"},
        f'{NS}:grafana.alerts.cacheHitRate.for = "90s": a multiple of grafana.evaluationInterval (1m): Grafana '
        "would round it up silently",
    ),
    "email without addresses": (
        "dev",
        {"grafana.contactPoint.addresses": []},
        f"{NS}:grafana.contactPoint.addresses = []: at least one address for an email contact point",
    ),
    "pagerduty without its key": (
        "prod",
        {"grafanaPagerdutyKey": DELETE},
        f"{NS}:grafanaPagerdutyKey = (not set): required for a pagerduty contact point: `pulumi config set "
        "--secret grafanaPagerdutyKey ...`",
    ),
    "a key the contact point does not read": (
        "dev",
        {"grafanaPagerdutyKey": {"secure": "v1:abc"}},
        f"{NS}:grafanaPagerdutyKey = [secret]: only read by a pagerduty contact point; remove it",
    ),
    "production pages": (
        "prod",
        {
            "grafana.contactPoint": {"name": "x", "type": "email", "addresses": ["a@example.com"]},
            "grafanaPagerdutyKey": DELETE,
        },
        f'{NS}:grafana.contactPoint.type = "email": production routes critical alerts (dbQueryLatencyP95, '
        "dbPoolUtilization) to a pager: type pagerduty",
    ),
    "another organisation with a token": (
        "dev",
        {"grafana.orgId": 2},
        f"{NS}:grafana.orgId = 2: an organisation other than 1 needs basic auth: the secret grafanaAuth as "
        "user:password (a service account token is scoped to its own organisation; use org 1 with it)",
    ),
    "same uids": (
        "dev",
        {"grafana.dashboardUid": "reconciliation-dev"},
        f'{NS}:grafana.dashboardUid = "reconciliation-dev": must differ from the folder\'s uid',
    ),
    "grafana url in clear": (
        "prod",
        {"grafana.url": "http://grafana.example.com"},
        f'{NS}:grafana.url = "http://grafana.example.com": production talks to Grafana over https only',
    ),
    "unverified grafana": (
        "prod",
        {"grafana.insecureSkipVerify": True},
        f"{NS}:grafana.insecureSkipVerify = true: production verifies Grafana's certificate",
    ),
}


@pytest.mark.parametrize(("stack_name", "changes", "line"), CASES.values(), ids=CASES.keys())
def test_one_clear_line_per_problem(stack_name: str, changes: dict, line: str) -> None:
    # Through the real program: a RunError with exactly this line, and nothing registered.
    assert problems(run_changed(stack_name, changes)) == [line]


def test_another_organisation_with_basic_auth_is_accepted() -> None:
    from helpers import changed

    from offline.harness import PROJECT
    from settings.report import validate
    from settings.stackfile import project_values

    values, secret_keys = project_values(changed("dev", {"grafana.orgId": 2}), PROJECT)
    values["grafanaAuth"] = "deployer:hunter2"
    settings, lines = validate(values, {*secret_keys, "grafanaAuth"}, PROJECT, "dev")
    assert lines == []
    assert settings is not None
    assert settings.grafana.org_id == 2


def _latency_problems(stack: str, threshold: float) -> list[str]:
    from helpers import validated

    _, lines = validated(stack, {"grafana.alerts.dbQueryLatencyP95.threshold": threshold})
    return lines


def test_the_latency_threshold_stops_where_the_p95_can_no_longer_exceed_it(stack: str) -> None:
    """histogram_quantile answers at most the largest finite bucket bound (prometheus/prometheus
    promql/quantile.go, bucketQuantile: a rank in +Inf reads as that bound), and the alert fires on
    p95 > threshold: at that bound it can never fire, just below it it can."""
    largest = max(metrics.DB_QUERY_BUCKETS)
    assert _latency_problems(stack, largest) == [
        f"{NS}:grafana.alerts.dbQueryLatencyP95.threshold = {json.dumps(largest)}: below {largest:g} s, the "
        f"histogram's largest finite bucket: a p95 above it reads as {largest:g} s"
    ]
    assert _latency_problems(stack, math.nextafter(largest, 0)) == []


def test_the_latency_threshold_starts_where_the_p95_can_stay_below_it(stack: str) -> None:
    """The first bucket interpolates from 0 (quantile.go, bucketQuantile), so with every query in it
    the p95 reads the quantile times its bound, and no traffic ever reads less: a threshold below
    that always fires, one at it can stay silent."""
    lowest = metrics.DB_QUERY_QUANTILE * min(metrics.DB_QUERY_BUCKETS)
    below = math.nextafter(lowest, 0)
    assert _latency_problems(stack, below) == [
        f"{NS}:grafana.alerts.dbQueryLatencyP95.threshold = {json.dumps(below)}: at least {lowest:g} s: the p95 "
        f"of any traffic reads at least {metrics.DB_QUERY_QUANTILE:g} x the first bucket "
        f"({min(metrics.DB_QUERY_BUCKETS):g} s), so the alert would always fire"
    ]
    assert _latency_problems(stack, lowest) == []
