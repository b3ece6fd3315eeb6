"""Wire-level inputs of the Grafana folder, dashboard, contact point and rule group, and of the
PodMonitor, for every stack: what the program would send, checked against the settings."""

from __future__ import annotations

import json

import jsonschema
import promql_parser
import pytest
from helpers import run_changed

from components import alert_rules
from components.observability import contact_point_inputs
from components.pod import PORT_NAME
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
    assert board["title"] == "Database & Cache Metrics"
    assert board["uid"] == f"reconciliation-backend-{settings.environment}"
    assert board["schemaVersion"] >= 41  # Grafana 11.6's
    (variable,) = board["templating"]["list"]
    assert (variable["type"], variable["query"], variable["current"]["value"]) == (
        "datasource",
        "prometheus",
        settings.grafana.datasource_uid,
    )


def test_every_panel_has_a_unit_queries_with_ref_ids_and_the_variable(result: RunResult) -> None:
    board = _board(result)
    panels = _panels(board)
    assert len(panels) == 11
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [target["refId"] for target in panel["targets"]]
        assert refs, panel["title"]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            promql_parser.parse(target["expr"])  # raises on anything that is not PromQL
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24


def test_thresholds_are_drawn_at_the_alert_thresholds(result: RunResult, settings) -> None:
    alerts = settings.grafana.alerts
    expected = {
        "DB query p95": alerts.db_query_latency_p95.threshold,
        "DB query p95 by route": alerts.db_query_latency_p95.threshold,
        "Cache hit rate": alerts.cache_hit_rate.threshold,
        "Cache hit rate by level": alerts.cache_hit_rate.threshold,
        "Connection pool utilization": alerts.db_pool_utilization.threshold,
    }
    drawn = {}
    for panel in _panels(_board(result)):
        defaults = panel["fieldConfig"]["defaults"]
        if "thresholds" in defaults:
            assert defaults["custom"]["thresholdsStyle"]["mode"] == "dashed"
            drawn[panel["title"]] = defaults["thresholds"]["steps"][1]["value"]
    assert drawn == expected


def test_workload_panels_use_the_deployments_own_settings(result: RunResult, settings) -> None:
    panels = {panel["title"]: panel for panel in _panels(_board(result))}
    scaling = settings.backend.autoscaling

    def exprs(title: str) -> dict[str, str]:
        return {target["legendFormat"]: target["expr"] for target in panels[title]["targets"]}

    assert exprs("Replicas")["HPA min"] == f"vector({scaling.min_replicas})"
    assert exprs("Replicas")["HPA max"] == f"vector({scaling.max_replicas})"
    from settings.quantity import parse_quantity

    memory = exprs("Memory per pod")
    assert memory["limit"] == f"vector({float(parse_quantity(settings.backend.resources.limits.memory)):g})"
    assert (
        exprs("CPU per pod")["request"] == f"vector({float(parse_quantity(settings.backend.resources.requests.cpu)):g})"
    )
    assert panels["Memory per pod"]["fieldConfig"]["defaults"]["unit"] == "bytes"
    assert 'reason="OOMKilled"' in exprs("Restarts and OOM kills")["OOM killed {{pod}}"]


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
        assert a["relativeTimeRange"] == {"from": 600, "to": 0}
        models = [json.loads(data["model"]) for data in rule["datas"]]
        for model in models:
            assert (model["intervalMs"], model["maxDataPoints"]) == (1000, 43200)
        promql_parser.parse(models[0]["expr"])
        assert models[0]["instant"] is True
        assert models[1]["settings"] == {"mode": "dropNN"}  # NaN is dropped, never compared
        (condition,) = models[2]["conditions"]
        operator = "lt" if name == "ReconciliationCacheHitRateLow" else "gt"
        assert condition["evaluator"] == {"type": operator, "params": [alert.threshold]}


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
