"""The dashboard (components/grafana/dashboard.py), for every stack: sent as the builder's model, in
the folder; units, queries, the grid, thresholds and the Deployment's own settings."""

from __future__ import annotations

import json
from decimal import Decimal

import promql_parser

from components.grafana import dashboard as grafana_dashboard
from offline.harness import RunResult

FOLDER = "grafana:oss/folder:Folder"
DASHBOARD = "grafana:oss/dashboard:Dashboard"


def _board(result: RunResult) -> dict:
    return json.loads(result.one(DASHBOARD).inputs["configJson"])


def _panels(board: dict) -> list[dict]:
    return [panel for panel in board["panels"] if panel["type"] != "row"]


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
