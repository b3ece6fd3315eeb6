"""The three alerts, defined once and written two ways: Grafana-managed rules (what the program
deploys) and a Prometheus rules file (what ``promtool test rules`` proves): same expression,
threshold, duration, labels and annotations."""

from __future__ import annotations

import json
from typing import NamedTuple

from components.grafana import promql
from settings.observability import seconds
from settings.stack import StackSettings

GROUP = "reconciliation-backend"
# Grafana's server-side expressions (reduce, threshold) run on this pseudo data source.
EXPRESSION_UID = "__expr__"
# The query model's defaults, written out: Grafana's own UI sends them, and the provider drops
# them from its diff, so the rule never shows a spurious change.
QUERY_DEFAULTS = {"intervalMs": 1000, "maxDataPoints": 43200}
# What Grafana does when a query fails: an explicit error alert, routed like the rule itself.
EXEC_ERR_STATE = "Error"
OPERATORS = {"gt": ">", "lt": "<"}
# The tail of each rule's uid (at most 15 characters: the stack name takes up to 24 of Grafana's 40).
RULE_UIDS = {
    "dbQueryLatencyP95": "db-latency-p95",
    "cacheHitRate": "cache-hit-rate",
    "dbPoolUtilization": "db-pool-usage",
}


class AlertDefinition(NamedTuple):
    key: str  # under grafana.alerts
    name: str
    expr: str  # the value judged (seconds or a ratio); no data when there is nothing to judge
    operator: str  # gt or lt
    threshold: float
    pending: str  # `for`
    severity: str
    # Grafana's noDataState: OK, as no data means no traffic or no pool yet; metrics that vanish
    # altogether are a scrape problem, which the cluster's own target-down alert reports.
    no_data_state: str
    summary: str
    description: str  # `VALUE` stands for the engine's template of the current value
    runbook: str  # file under docs/runbooks/


def definitions(settings: StackSettings) -> list[AlertDefinition]:
    alerts, name = settings.grafana.alerts, settings.backend.name
    latency, cache, pool = alerts.db_query_latency_p95, alerts.cache_hit_rate, alerts.db_pool_utilization
    return [
        AlertDefinition(
            "dbQueryLatencyP95",
            "ReconciliationDbQueryLatencyHigh",
            promql.db_query_p95_gated(settings),
            "gt",
            latency.threshold,
            latency.for_,
            latency.severity,
            "OK",
            f"{name}: database queries are slow (p95 above {latency.threshold * 1000:g} ms)",
            f"The p95 of {name}'s database queries is {{{{ VALUE | humanizeDuration }}}} over the last "
            f"{settings.grafana.rate_window}, above {latency.threshold * 1000:g} ms "
            f"(judged while at least {latency.min_query_rate:g} queries/s run).",
            "db-query-latency.md",
        ),
        AlertDefinition(
            "cacheHitRate",
            "ReconciliationCacheHitRateLow",
            promql.cache_hit_rate_gated(settings),
            "lt",
            cache.threshold,
            cache.for_,
            cache.severity,
            "OK",
            f"{name}: cache hit rate below {cache.threshold:.0%}",
            f"{name} answers {{{{ VALUE | humanizePercentage }}}} of cache lookups from its cache over the last "
            f"{settings.grafana.rate_window}, below {cache.threshold:.0%} "
            f"(judged while at least {cache.min_lookup_rate:g} lookups/s run).",
            "cache-hit-rate.md",
        ),
        AlertDefinition(
            "dbPoolUtilization",
            "ReconciliationDbPoolSaturated",
            promql.pool_utilization_max(settings),
            "gt",
            pool.threshold,
            pool.for_,
            pool.severity,
            "OK",
            f"{name}: a database connection pool is above {pool.threshold:.0%} in use",
            f"The fullest pod's connection pool is {{{{ VALUE | humanizePercentage }}}} in use, "
            f"above {pool.threshold:.0%}: requests are about to queue for a connection.",
            "db-pool-utilization.md",
        ),
    ]


def labels(settings: StackSettings, alert: AlertDefinition) -> dict[str, str]:
    return {
        "severity": alert.severity,
        "team": settings.grafana.team,
        "stack": settings.environment,
        "service": settings.backend.name,
    }


def rule_annotations(settings: StackSettings, alert: AlertDefinition, value: str) -> dict[str, str]:
    return {
        "summary": alert.summary,
        "description": alert.description.replace("VALUE", value),
        "runbook_url": f"{settings.grafana.runbook_base_url.rstrip('/')}/{alert.runbook}",
    }


def _query(settings: StackSettings, alert: AlertDefinition) -> dict:
    # An instant query over a range that covers the rate window twice.
    span = max(600, 2 * seconds(settings.grafana.rate_window))
    model = {
        "refId": "A",
        "datasource": {"type": "prometheus", "uid": settings.grafana.datasource_uid},
        "expr": alert.expr,
        "instant": True,
        "range": False,
        "editorMode": "code",
        **QUERY_DEFAULTS,
    }
    return _data("A", settings.grafana.datasource_uid, model, span)


def _expression(ref: str, model: dict) -> dict:
    model = {"refId": ref, "datasource": {"type": EXPRESSION_UID, "uid": EXPRESSION_UID}, **model, **QUERY_DEFAULTS}
    return _data(ref, EXPRESSION_UID, model, 0)


def _data(ref: str, datasource: str, model: dict, span: int) -> dict:
    return {
        "refId": ref,
        "datasourceUid": datasource,
        "relativeTimeRange": {"from": span, "to": 0},
        "model": json.dumps(model, sort_keys=True),
    }


def grafana_rule(settings: StackSettings, alert: AlertDefinition) -> dict:
    """One Grafana-managed rule, A (query) / B (reduce) / C (threshold), as the provider's inputs."""
    # dropNN: a NaN or missing value is dropped, not compared; nothing left means no data.
    reduce = {"type": "reduce", "expression": "A", "reducer": "last", "settings": {"mode": "dropNN"}}
    evaluator = {"type": alert.operator, "params": [alert.threshold]}
    threshold = {"type": "threshold", "expression": "B", "conditions": [{"evaluator": evaluator}]}
    return {
        "name": alert.name,
        # Pinned: Grafana would generate one, and the rules are a list in state, so a reordering
        # would hand one alert's history and silences to another.
        "uid": rule_uid(settings, alert),
        "condition": "C",
        "for": alert.pending,
        "noDataState": alert.no_data_state,
        "execErrState": EXEC_ERR_STATE,
        "isPaused": False,
        "labels": labels(settings, alert),
        "annotations": rule_annotations(settings, alert, "$values.B.Value"),
        # Per-rule routing: the shared Grafana's notification policy tree stays untouched.
        "notificationSettings": {
            "contactPoint": settings.grafana.contact_point.name,
            # By severity too: a notification never mixes a warning into a page.
            "groupBies": ["alertname", "grafana_folder", "stack", "severity"],
        },
        "datas": [_query(settings, alert), _expression("B", reduce), _expression("C", threshold)],
    }


def rule_uid(settings: StackSettings, alert: AlertDefinition) -> str:
    """Stable and unique per stack and alert; Grafana's limit is 40 characters."""
    return f"{settings.environment[:24]}-{RULE_UIDS[alert.key]}"


def grafana_rules(settings: StackSettings) -> list[dict]:
    return [grafana_rule(settings, alert) for alert in definitions(settings)]


def prometheus_rules(settings: StackSettings) -> dict:
    """The same alerts as a Prometheus rules file, for promtool."""
    rules = [
        {
            "alert": alert.name,
            "expr": f"({alert.expr}) {OPERATORS[alert.operator]} {promql.number(alert.threshold)}",
            "for": alert.pending,
            "labels": labels(settings, alert),
            "annotations": rule_annotations(settings, alert, "$value"),
        }
        for alert in definitions(settings)
    ]
    return {"groups": [{"name": GROUP, "interval": settings.grafana.evaluation_interval, "rules": rules}]}
