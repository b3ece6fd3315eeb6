"""Every observability setting and rule refuses a bad value with one line naming the key, the
value and what is allowed; a stack that breaks one registers nothing."""

from __future__ import annotations

import json
import math

import pytest
from helpers import DELETE, problems, run_changed

from settings import metrics

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


def test_a_broken_observability_setting_stops_the_program_before_anything_registers() -> None:
    # problems() checks the RunError and that nothing was registered.
    lines = problems(run_changed("prod", {"grafana.alerts.cacheHitRate.threshold": 1.5}))
    assert lines == [
        f"{NS}:grafana.alerts.cacheHitRate.threshold = 1.5: expected a ratio between 0 and 1 exclusive, such as 0.6 "
        "for 60 %"
    ]


def test_the_token_may_never_be_written_in_clear() -> None:
    lines = problems(run_changed("dev", {"grafanaAuth": "glsa_in_clear"}))
    assert lines == [f"{NS}:grafanaAuth = [not a secret]: must be set with `pulumi config set --secret grafanaAuth`"]


def test_another_organisation_with_basic_auth_is_accepted() -> None:
    from helpers import changed

    from offline.harness import PROJECT
    from settings.report import validate
    from settings.stackfile import project_values

    values, secret_keys = project_values(changed("dev", {"grafana.orgId": 2}), PROJECT)
    values["grafanaAuth"] = "deployer:hunter2"
    settings, lines = validate(values, {*secret_keys, "grafanaAuth"}, PROJECT, "dev")
    assert lines == []
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
