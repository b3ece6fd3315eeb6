"""The "Database & Cache Metrics" dashboard, built with Grafana's foundation SDK (11.6 schema):
the backend's database, cache and pool beside the workload's health, thresholds drawn at the
alerts' thresholds, requests and limits at the Deployment's own settings."""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DynamicConfigValue,
    GridPos,
    Threshold,
    ThresholdsMode,
    VariableOption,
)

from components.grafana import promql
from settings import metrics
from settings.quantity import parse_quantity
from settings.stack import StackSettings

TITLE = "Database & Cache Metrics"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
WIDTH, HEIGHT = 12, 8
# The dashed red line of a limit or an alert threshold; request and bounds lines are grey.
LIMIT_STYLE = [
    DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"}),
    DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
]
BOUND_STYLE = [
    DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "text"}),
    DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [4, 4]}),
]


def _query(ref: str, expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().ref_id(ref).expr(expr).legend_format(legend).range().datasource(DATASOURCE)


def _panel(title: str, unit: str, description: str, queries: list[tuple[str, str]]) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE).min(0)
    for ref, (expr, legend) in zip("ABCDEFGH", queries, strict=False):
        panel = panel.with_target(_query(ref, expr, legend))
    return panel


def _threshold(panel: timeseries.Panel, value: float, good_below: bool) -> timeseries.Panel:
    """Colour and draw the alert's threshold on the graph."""
    low, high = ("green", "red") if good_below else ("red", "green")
    steps = [Threshold(value=None, color=low), Threshold(value=value, color=high)]
    style = common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
    return panel.thresholds(builders.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)).thresholds_style(
        style
    )


def _panels(settings: StackSettings) -> list[tuple[str, list[timeseries.Panel]]]:
    alerts, resources = settings.grafana.alerts, settings.backend.resources
    scaling = settings.backend.autoscaling
    latency, cache, pool = alerts.db_query_latency_p95, alerts.cache_hit_rate, alerts.db_pool_utilization
    database = [
        _threshold(
            _panel(
                "DB query p95",
                "s",
                f"p95 of all queries; the alert fires above {latency.threshold:g} s for {latency.for_}",
                [(promql.db_query_p95(settings), "p95")],
            ),
            latency.threshold,
            good_below=True,
        ),
        _threshold(
            _panel(
                "DB query p95 by route",
                "s",
                "p95 per route: which endpoint's queries are slow",
                [(promql.db_query_p95(settings, "route"), "{{route}}")],
            ),
            latency.threshold,
            good_below=True,
        ),
        _panel(
            "DB queries per second",
            "reqps",
            f"the latency alert judges the p95 only above {latency.min_query_rate:g} queries/s",
            [(promql.db_query_rate(settings), "queries/s")],
        ),
    ]
    caching = [
        _threshold(
            _panel(
                "Cache hit rate",
                "percentunit",
                f"hits over lookups; the alert fires below {cache.threshold:.0%} for {cache.for_}",
                [(promql.cache_hit_rate(settings), "hit rate")],
            ).max(1),
            cache.threshold,
            good_below=False,
        ),
        _threshold(
            _panel(
                "Cache hit rate by level",
                "percentunit",
                "hits over lookups per cache level",
                [(promql.cache_hit_rate(settings, "cache_level"), "{{cache_level}}")],
            ).max(1),
            cache.threshold,
            good_below=False,
        ),
    ]
    pools = [
        _threshold(
            _panel(
                "Connection pool utilization",
                "percentunit",
                f"active over total connections per pod; the alert fires above {pool.threshold:.0%}",
                [(promql.pool_utilization(settings), "{{pod}}")],
            ).max(1),
            pool.threshold,
            good_below=True,
        ),
        _panel(
            "Connections: active, idle, total",
            "short",
            "each pod's pool",
            [
                (promql.pool_gauge(settings, metrics.POOL_ACTIVE), "active {{pod}}"),
                (promql.pool_gauge(settings, metrics.POOL_IDLE), "idle {{pod}}"),
                (promql.pool_gauge(settings, metrics.POOL_TOTAL), "total {{pod}}"),
            ],
        ),
    ]
    memory = (parse_quantity(resources.requests.memory), parse_quantity(resources.limits.memory))
    cpu = (parse_quantity(resources.requests.cpu), parse_quantity(resources.limits.cpu))
    workload = [
        _panel(
            "Replicas",
            "short",
            "available and desired pods against the autoscaler's bounds",
            [
                (promql.replicas(settings, metrics.DEPLOYMENT_AVAILABLE), "available"),
                (promql.replicas(settings, metrics.DEPLOYMENT_DESIRED), "desired"),
                (promql.constant(scaling.min_replicas), "HPA min"),
                (promql.constant(scaling.max_replicas), "HPA max"),
            ],
        )
        .override_by_name("HPA min", BOUND_STYLE)
        .override_by_name("HPA max", BOUND_STYLE),
        _limits(
            _panel(
                "CPU per pod",
                "short",
                "cores used per pod, against the request and the limit",
                [
                    (promql.cpu_cores(settings), "{{pod}}"),
                    (promql.constant(cpu[0]), "request"),
                    (promql.constant(cpu[1]), "limit"),
                ],
            )
        ),
        _limits(
            _panel(
                "Memory per pod",
                "bytes",
                "working set per pod, against the request and the limit",
                [
                    (promql.memory_bytes(settings), "{{pod}}"),
                    (promql.constant(memory[0]), "request"),
                    (promql.constant(memory[1]), "limit"),
                ],
            )
        ),
        _panel(
            "Restarts and OOM kills",
            "short",
            "container restarts in the last hour; pods last killed for memory",
            [
                (promql.restarts(settings), "restarts {{pod}}"),
                (promql.oom_kills(settings), "OOM killed {{pod}}"),
            ],
        ),
    ]
    return [("Database", database), ("Cache", caching), ("Connection pool", pools), ("Workload", workload)]


def _limits(panel: timeseries.Panel) -> timeseries.Panel:
    return panel.override_by_name("request", BOUND_STYLE).override_by_name("limit", LIMIT_STYLE)


def dashboard(settings: StackSettings) -> dict:
    """The dashboard model, as Grafana's import and the provider's config_json take it."""
    grafana = settings.grafana
    current = VariableOption(selected=True, text=grafana.datasource_uid, value=grafana.datasource_uid)
    variable = builders.DatasourceVariable("datasource").label("Data source").type("prometheus").current(current)
    board = (
        builders.Dashboard(TITLE)
        .uid(grafana.dashboard_uid_for(settings.environment))
        .tags(["reconciliation", settings.environment, "generated"])
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("utc")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .with_variable(variable)
    )
    y, panel_id = 0, 1
    for title, panels in _panels(settings):
        board = board.with_row(builders.Row(title).id(panel_id).grid_pos(GridPos(h=1, w=24, x=0, y=y)))
        panel_id, y = panel_id + 1, y + 1
        for index, panel in enumerate(panels):
            position = GridPos(h=HEIGHT, w=WIDTH, x=(index % 2) * WIDTH, y=y + (index // 2) * HEIGHT)
            board = board.with_panel(panel.id(panel_id).grid_pos(position))
            panel_id += 1
        y += -(-len(panels) // 2) * HEIGHT
    return json.loads(json.dumps(board.build(), cls=JSONEncoder))


def dashboard_json(settings: StackSettings) -> str:
    return json.dumps(dashboard(settings), sort_keys=True, separators=(",", ":"))
