"""The three alerts (components/grafana/alert_rules.py), for every stack: the rule group on the wire,
its queries, uids and annotations, a runbook for each, and the Prometheus twin promtool proves."""

from __future__ import annotations

import json
from decimal import Decimal

import promql_parser
import pytest
from helpers import validated

from components.grafana import alert_rules
from offline.harness import ROOT, RunResult
from settings.observability import seconds

RULE_GROUP = "grafana:alerting/ruleGroup:RuleGroup"
ALERT_KEYS = {
    "ReconciliationDbQueryLatencyHigh": "db_query_latency_p95",
    "ReconciliationCacheHitRateLow": "cache_hit_rate",
    "ReconciliationDbPoolSaturated": "db_pool_utilization",
}


ALERT_KEYS_BY_NAME = {
    "ReconciliationDbQueryLatencyHigh": "dbQueryLatencyP95",
    "ReconciliationCacheHitRateLow": "cacheHitRate",
    "ReconciliationDbPoolSaturated": "dbPoolUtilization",
}


@pytest.mark.parametrize("threshold", [None, 0.1234567])
def test_the_rules_file_compares_against_the_settings_exact_threshold(stack: str, threshold: float | None) -> None:
    """promtool's rules end in the threshold as written in the stack file (six significant
    digits, the shortest float form, would round 0.1234567 off)."""
    changes = {} if threshold is None else {"grafana.alerts.cacheHitRate.threshold": threshold}
    settings, problems = validated(stack, changes)
    assert problems == []
    alerts = settings.grafana.alerts
    expected = [alerts.db_query_latency_p95, alerts.cache_hit_rate, alerts.db_pool_utilization]
    rules = alert_rules.prometheus_rules(settings)["groups"][0]["rules"]
    ends = [Decimal(rule["expr"].rsplit(" ", 1)[1]) for rule in rules]
    assert sorted(ends) == sorted(Decimal(str(alert.threshold)) for alert in expected)
    if threshold is not None:
        assert any(rule["expr"].endswith(f" {threshold}") for rule in rules)


def test_one_rule_group_with_the_three_alerts(result: RunResult, settings) -> None:
    group = result.one(RULE_GROUP)
    inputs = group.inputs
    assert inputs["name"] == "reconciliation-backend"
    assert inputs["intervalSeconds"] == seconds(settings.grafana.evaluation_interval)
    assert any(d.endswith("observability-contact") for d in group.depends_on)  # routed by name
    rules = {rule["name"]: rule for rule in inputs["rules"]}
    assert set(rules) == set(ALERT_KEYS)
    for name, rule in rules.items():
        alert = getattr(settings.grafana.alerts, ALERT_KEYS[name])
        assert rule["condition"] == "C"
        assert rule["for"] == alert.for_
        assert rule["execErrState"] == "Error"
        assert rule["noDataState"] == "OK"  # no traffic, or no pool yet: nothing to judge
        assert rule["uid"] == f"{settings.environment}-{alert_rules.RULE_UIDS[ALERT_KEYS_BY_NAME[name]]}"
        assert rule["labels"] == {
            "severity": alert.severity,
            "team": settings.grafana.team,
            "stack": settings.environment,
            "service": settings.backend.name,
        }
        assert rule["notificationSettings"] == {
            "contactPoint": settings.grafana.contact_point.name,
            "groupBies": ["alertname", "grafana_folder", "stack", "severity"],
        }
        a, b, c = rule["datas"]
        assert [a["refId"], b["refId"], c["refId"]] == ["A", "B", "C"]
        assert a["datasourceUid"] == settings.grafana.datasource_uid
        assert b["datasourceUid"] == c["datasourceUid"] == "__expr__"
        # The query looks back over the rate window twice, ten minutes at least; expressions over nothing.
        assert a["relativeTimeRange"] == {"from": max(600, 2 * seconds(settings.grafana.rate_window)), "to": 0}
        assert b["relativeTimeRange"] == c["relativeTimeRange"] == {"from": 0, "to": 0}
        assert rule["isPaused"] is False
        # Canonical JSON (sorted keys), so a re-render never shows the provider a spurious change.
        assert all(data["model"] == json.dumps(json.loads(data["model"]), sort_keys=True) for data in rule["datas"])
        models = [json.loads(data["model"]) for data in rule["datas"]]
        for model in models:
            assert (model["intervalMs"], model["maxDataPoints"]) == (1000, 43200)
        promql_parser.parse(models[0]["expr"])
        assert (models[0]["instant"], models[0]["range"]) == (True, False)
        assert models[1]["settings"] == {"mode": "dropNN"}  # NaN is dropped, never compared
        (condition,) = models[2]["conditions"]
        operator = "lt" if name == "ReconciliationCacheHitRateLow" else "gt"
        assert condition["evaluator"] == {"type": operator, "params": [alert.threshold]}


@pytest.mark.parametrize("window", ["2m", "5m", "7m", "20m"])
def test_the_rule_query_covers_its_rate_window_twice(window: str) -> None:
    # Ten minutes at least: below that (5m), 600 s; above it, twice the window.
    settings, problems = validated("dev", {"grafana.rateWindow": window})
    assert problems == []
    for rule in alert_rules.grafana_rules(settings):
        assert rule["datas"][0]["relativeTimeRange"]["from"] == max(600, 2 * seconds(window))


def test_rule_uids_keep_the_first_24_characters_of_a_long_stack_name(settings) -> None:
    # Grafana's uids hold 40 characters; the longest tail takes 15 of them with its dash.
    long = settings.model_copy(update={"environment": "a-very-long-stack-name-for-testing-uids"})
    uids = [alert_rules.rule_uid(long, alert) for alert in alert_rules.definitions(long)]
    assert len(set(uids)) == len(uids)
    for uid in uids:
        assert len(uid) <= 40
        assert uid.startswith(long.environment[:24] + "-")
        assert not uid.startswith(long.environment[:25])


def test_annotations_state_each_threshold_as_a_person_reads_it(settings) -> None:
    alerts = settings.grafana.alerts
    latency = f"{alerts.db_query_latency_p95.threshold * 1000:g} ms"
    texts = {rule["name"]: rule["annotations"] for rule in alert_rules.grafana_rules(settings)}
    stated = {
        "ReconciliationDbQueryLatencyHigh": latency,
        "ReconciliationCacheHitRateLow": f"{alerts.cache_hit_rate.threshold:.0%}",
        "ReconciliationDbPoolSaturated": f"{alerts.db_pool_utilization.threshold:.0%}",
    }
    for name, value in stated.items():
        assert value in texts[name]["summary"], name
        assert value in texts[name]["description"], name
    floors = {
        "ReconciliationDbQueryLatencyHigh": f"at least {alerts.db_query_latency_p95.min_query_rate:g} queries/s",
        "ReconciliationCacheHitRateLow": f"at least {alerts.cache_hit_rate.min_lookup_rate:g} lookups/s",
    }
    for name, floor in floors.items():
        assert floor in texts[name]["description"], name
        assert f"over the last {settings.grafana.rate_window}" in texts[name]["description"], name


def test_every_alert_has_a_runbook_in_this_repository(result: RunResult, settings) -> None:
    base = settings.grafana.runbook_base_url.rstrip("/") + "/"
    for rule in result.one(RULE_GROUP).inputs["rules"]:
        annotations = rule["annotations"]
        assert annotations["summary"]
        assert "{{ $values.B.Value" in annotations["description"]
        url = annotations["runbook_url"]
        assert url.startswith(base)
        runbook = ROOT / "docs" / "runbooks" / url.removeprefix(base)
        text = runbook.read_text()
        for section in ("## What it means", "## How to check", "## How to mitigate"):
            assert section in text, (runbook.name, section)


def test_the_prometheus_twin_says_the_same(settings) -> None:
    grafana = {rule["name"]: rule for rule in alert_rules.grafana_rules(settings)}
    (group,) = alert_rules.prometheus_rules(settings)["groups"]
    assert group["interval"] == settings.grafana.evaluation_interval
    for rule in group["rules"]:
        twin = grafana[rule["alert"]]
        query = json.loads(twin["datas"][0]["model"])["expr"]
        (condition,) = json.loads(twin["datas"][2]["model"])["conditions"]
        operator = {"gt": ">", "lt": "<"}[condition["evaluator"]["type"]]
        assert rule["expr"] == f"({query}) {operator} {condition['evaluator']['params'][0]:g}"
        assert (rule["for"], rule["labels"]) == (twin["for"], twin["labels"])
        assert rule["annotations"]["runbook_url"] == twin["annotations"]["runbook_url"]
        promql_parser.parse(rule["expr"])
