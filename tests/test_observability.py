"""Wire-level inputs of the Grafana folder, dashboard, contact point and rule group, and of the
PodMonitor, for every stack: what the program would send, checked against the settings."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import promql_parser
import pytest
from helpers import run_changed, validated

from components.grafana import alert_rules
from components.grafana import dashboard as grafana_dashboard
from components.grafana.observability import contact_point_inputs
from components.kubernetes.pod import PORT_NAME
from offline.harness import PROJECT, ROOT, RunResult, Secret, StackRun, stack_config
from settings.observability import seconds

FOLDER = "grafana:oss/folder:Folder"
DASHBOARD = "grafana:oss/dashboard:Dashboard"
RULE_GROUP = "grafana:alerting/ruleGroup:RuleGroup"
CONTACT = "grafana:alerting/contactPoint:ContactPoint"
POLICY = "grafana:alerting/notificationPolicy:NotificationPolicy"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
SCHEMA = json.loads((ROOT / "schemas" / "prometheus-operator-v1.schema.json").read_text())
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


def _board(result: RunResult) -> dict:
    return json.loads(result.one(DASHBOARD).inputs["configJson"])


def _panels(board: dict) -> list[dict]:
    return [panel for panel in board["panels"] if panel["type"] != "row"]


def test_one_folder_per_stack_protected_in_production(result: RunResult, settings) -> None:
    folder = result.one(FOLDER)
    assert folder.inputs["title"] == settings.grafana.folder_title_for(settings.environment)
    assert folder.inputs["uid"] == f"reconciliation-{settings.environment}"
    assert folder.protect is settings.production
    assert folder.inputs["preventDestroyIfNotEmpty"] is settings.production
    assert result.one("reconciliation:observability:Observability").urn == folder.parent


def test_the_dashboard_is_stable_current_and_in_the_folder(result: RunResult, settings) -> None:
    dashboard = result.one(DASHBOARD)
    assert f"{FOLDER}::observability-folder" in [d.split("$")[-1] for d in dashboard.depends_on]
    assert dashboard.inputs["overwrite"] is False
    board = _board(result)
    # What the program sends is the builder's model: the tests below read the builder directly.
    assert board == grafana_dashboard.dashboard(settings)
    # As canonical JSON (sorted keys), so an unchanged dashboard never shows Pulumi a diff.
    sent = dashboard.inputs["configJson"]
    assert sent == json.dumps(json.loads(sent), sort_keys=True, separators=(",", ":"))
    assert board["title"] == "Database & Cache Metrics"
    assert board["uid"] == f"reconciliation-backend-{settings.environment}"
    assert board["schemaVersion"] >= 41  # Grafana 11.6's
    (variable,) = board["templating"]["list"]
    assert (variable["type"], variable["query"], variable["current"]["value"]) == (
        "datasource",
        "prometheus",
        settings.grafana.datasource_uid,
    )
    assert variable["current"]["selected"] is True  # the default is the one shown as chosen


def test_every_panel_has_a_unit_queries_with_ref_ids_and_the_variable(settings) -> None:
    board = grafana_dashboard.dashboard(settings)
    panels = _panels(board)
    assert len(panels) == 11
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    assert min(ids) >= 1  # 0 is the schema's "no id": Grafana would assign its own
    for panel in panels:
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["unit"], panel["title"]
        # Every quantity here is >= 0; a ratio's axis ends at 100 %.
        assert defaults["min"] == 0, panel["title"]
        assert defaults.get("max") == (1 if defaults["unit"] == "percentunit" else None), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [target["refId"] for target in panel["targets"]]
        assert refs, panel["title"]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            promql_parser.parse(target["expr"])  # raises on anything that is not PromQL
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_the_panels_tile_the_grid_in_rows(settings) -> None:
    """Grafana's 24-column grid: no two panels overlap, each row header spans the width right under
    the previous section, and no panel leaves a gap above it or to its left."""
    board = grafana_dashboard.dashboard(settings)
    taken: dict[tuple[int, int], str] = {}
    bottom = 0
    for item in board["panels"]:
        pos = item["gridPos"]
        if item["type"] == "row":
            assert (pos["x"], pos["y"], pos["w"], pos["h"]) == (0, bottom, 24, 1), item["title"]
        else:
            assert min(pos["w"], pos["h"]) > 0, item["title"]
            # Flush with what is above it, and with its left neighbour (or the left edge).
            assert all((x, pos["y"] - 1) in taken for x in range(pos["x"], pos["x"] + pos["w"])), item["title"]
            assert pos["x"] == 0 or (pos["x"] - 1, pos["y"]) in taken, item["title"]
            assert pos["x"] == 0 or pos["x"] + pos["w"] == 24, item["title"]  # a pair spans the width
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert 0 <= x < 24, item["title"]
                assert (x, y) not in taken, (item["title"], taken.get((x, y)))
                taken[x, y] = item["title"]
        bottom = max(bottom, pos["y"] + pos["h"])
    sections = [item["title"] for item in board["panels"] if item["type"] == "row"]
    assert sections == ["Database", "Cache", "Connection pool", "Workload"]


def test_thresholds_are_drawn_at_the_alert_thresholds(settings) -> None:
    alerts = settings.grafana.alerts
    expected = {
        "DB query p95": alerts.db_query_latency_p95.threshold,
        "DB query p95 by route": alerts.db_query_latency_p95.threshold,
        "Cache hit rate": alerts.cache_hit_rate.threshold,
        "Cache hit rate by level": alerts.cache_hit_rate.threshold,
        "Connection pool utilization": alerts.db_pool_utilization.threshold,
    }
    # Green on the healthy side of each threshold: below it for latency and pool use, above it for hits.
    healthy_below = {"DB query p95": True, "DB query p95 by route": True, "Connection pool utilization": True}
    drawn = {}
    for panel in _panels(grafana_dashboard.dashboard(settings)):
        defaults = panel["fieldConfig"]["defaults"]
        if "thresholds" in defaults:
            assert defaults["custom"]["thresholdsStyle"]["mode"] == "dashed"
            base, step = defaults["thresholds"]["steps"]
            drawn[panel["title"]] = step["value"]
            below = healthy_below.get(panel["title"], False)
            assert (base["color"], step["color"]) == (("green", "red") if below else ("red", "green")), panel["title"]
    assert drawn == expected


def test_workload_panels_use_the_deployments_own_settings(settings) -> None:
    panels = {panel["title"]: panel for panel in _panels(grafana_dashboard.dashboard(settings))}
    scaling = settings.backend.autoscaling

    def exprs(title: str) -> dict[str, str]:
        return {target["legendFormat"]: target["expr"] for target in panels[title]["targets"]}

    assert exprs("Replicas")["HPA min"] == f"vector({scaling.min_replicas})"
    assert exprs("Replicas")["HPA max"] == f"vector({scaling.max_replicas})"
    from settings.quantity import parse_quantity

    resources = settings.backend.resources
    for title, kind in (("Memory per pod", "memory"), ("CPU per pod", "cpu")):
        drawn = exprs(title)
        for line, side in (("request", resources.requests), ("limit", resources.limits)):
            # Exactly the quantity (128Mi is 134217728 bytes), never a rounded float.
            number = drawn[line].removeprefix("vector(").removesuffix(")")
            assert Decimal(number) == parse_quantity(getattr(side, kind)), (title, line, number)
            assert "e" not in number.lower(), (title, line, number)
    assert panels["Memory per pod"]["fieldConfig"]["defaults"]["unit"] == "bytes"
    assert 'reason="OOMKilled"' in exprs("Restarts and OOM kills")["OOM killed {{pod}}"]


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


def test_the_contact_point_keeps_its_key_secret(result: RunResult, settings) -> None:
    contact = result.one(CONTACT)
    expected = settings.grafana.contact_point
    assert contact.inputs["name"] == expected.name
    if expected.type == "email":
        assert contact.inputs["emails"] == [{"addresses": list(expected.addresses), "singleEmail": True}]
    else:
        # The whole receiver list is a secret on the wire: the key is inside it.
        assert isinstance(contact.inputs[f"{expected.type}s" if expected.type == "slack" else "pagerduties"], Secret)
    assert "set-with-pulumi" not in repr([r.inputs for r in result.resources])


def test_a_pagerduty_receiver_pages_with_the_alerts_severity() -> None:
    from helpers import validated

    settings, problems = validated("prod")
    assert problems == []
    (receiver,) = contact_point_inputs(settings)["pagerduties"]
    assert receiver["severity"] == "{{ .CommonLabels.severity }}"
    assert receiver["component"] == settings.backend.name
    assert type(receiver["integrationKey"]).__name__ == "Output"  # wrapped as a Pulumi secret


def test_a_slack_contact_point_reads_its_webhook_from_a_secret() -> None:
    config, secret_keys = stack_config("dev")
    contact = {"name": "reconciliation-dev-slack", "type": "slack"}
    grafana = {**json.loads(config[f"{PROJECT}:grafana"]), "contactPoint": contact}
    config[f"{PROJECT}:grafana"] = json.dumps(grafana)
    config[f"{PROJECT}:grafanaSlackUrl"] = "https://hooks.slack.com/services/T0/B0/hunter2"
    result = StackRun("dev", config, [*secret_keys, f"{PROJECT}:grafanaSlackUrl"]).execute()
    assert isinstance(result.one(CONTACT).inputs["slacks"], Secret)
    assert "hunter2" not in repr([r.inputs for r in result.resources])


def test_the_global_notification_policy_is_an_explicit_opt_in(result: RunResult) -> None:
    assert result.by_type(POLICY) == []
    opted = run_changed("dev", {"grafana.manageNotificationPolicy": True}).execute()
    policy = opted.one(POLICY)
    assert policy.inputs["contactPoint"] == "reconciliation-dev"
    assert policy.inputs["groupBies"] == ["grafana_folder", "alertname"]


def _pod_monitor_of(result: RunResult) -> dict:
    return result.one(POD_MONITOR).inputs


def _validate(manifest: dict) -> None:
    jsonschema.Draft7Validator({**SCHEMA, "$ref": "#/definitions/PodMonitor"}).validate(manifest)


def test_the_pod_monitor_selects_the_backends_pods(result: RunResult, settings) -> None:
    monitor = settings.backend.metrics.pod_monitor
    if not monitor.enabled:
        assert result.by_type(POD_MONITOR) == []
        result = run_changed(settings.environment, {"backend.metrics.podMonitor.enabled": True}).execute()
    manifest = _pod_monitor_of(result)
    _validate(manifest)
    assert manifest["spec"]["selector"] == {"matchLabels": settings.pod_selector}
    assert manifest["spec"]["namespaceSelector"] == {"matchNames": [settings.kubernetes.namespace]}
    assert manifest["metadata"]["labels"].items() >= monitor.labels.items()
    (endpoint,) = manifest["spec"]["podMetricsEndpoints"]
    assert endpoint == {
        "port": PORT_NAME,
        "path": settings.backend.metrics.path,
        "scheme": "http",
        "interval": monitor.interval,
        "scrapeTimeout": monitor.scrape_timeout,
    }
    deployment = result.one("kubernetes:apps/v1:Deployment").inputs
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert PORT_NAME in [port["name"] for port in container["ports"]]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "podMetricsEndpoints", 0, "interval"), "30 seconds"),  # not a Prometheus duration
        (("spec", "podMetricsEndpoints", 0, "scheme"), "tcp"),
        (("spec", "podMetricsEndpoint"), []),  # unknown field
        (("apiVersion",), "monitoring.coreos.com/v1alpha1"),
    ],
)
def test_the_pod_monitor_schema_refuses_what_the_operator_would(path: tuple, value: object) -> None:
    manifest = json.loads(json.dumps(_pod_monitor_of(run_changed("prod", {}).execute())))
    _validate(manifest)
    node = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        _validate(manifest)
