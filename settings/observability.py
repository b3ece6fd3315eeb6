"""Settings of the backend's observability: the PodMonitor, the Grafana provider, folder,
dashboard, contact point and the three alerts (rules between keys in ``settings.rules.observability``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PlainValidator

from settings.base import Email, LabelKey, LabelValue, Model, matching

# Prometheus and Grafana durations: whole units, largest first (5m, 1h30m, 90s).
_DURATION = re.compile(r"(?=[0-9])(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
# Grafana's uid rule: at most 40 of letters, digits, '-' and '_'.
_UID = re.compile(r"[A-Za-z0-9_-]{1,40}")
# Prometheus label names; the Operator's Prometheus selects PodMonitors on these labels.
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()-]{0,99}")


def seconds(duration: str) -> int:
    """Seconds in a duration such as ``1h30m`` (validated by ``Duration``)."""
    return sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in re.findall(r"([0-9]+)([hms])", duration))


def _duration(value: object) -> str:
    if isinstance(value, str) and _DURATION.fullmatch(value) and seconds(value) > 0:
        return value
    raise ValueError("expected a duration such as 30s, 5m or 1h30m (whole h, m and s, largest first, above 0)")


Duration = Annotated[str, PlainValidator(_duration)]
Uid = Annotated[str, matching(_UID, "a Grafana uid: 1-40 letters, digits, '-' or '_'")]
Url = Annotated[str, matching(_URL, "an http(s) URL such as https://grafana.example.com, no query or fragment")]
Severity = Literal["critical", "warning", "info"]


def _ratio(value: float) -> float:
    if not 0 < value < 1:
        raise ValueError("expected a ratio between 0 and 1 exclusive, such as 0.6 for 60 %")
    return value


class PodMonitor(Model):
    """For clusters running the Prometheus Operator, which ignores `prometheus.io/*` annotations."""

    enabled: bool = False
    # The labels the Operator's Prometheus selects PodMonitors on (kube-prometheus-stack:
    # `release: <helm release>`, unless podMonitorSelectorNilUsesHelmValues is false).
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    interval: Duration = "30s"
    scrape_timeout: Duration = "10s"


class Alert(Model):
    # How long the condition must hold before the alert fires (Grafana's and Prometheus' `for`).
    for_: Duration = Field("5m", alias="for")
    severity: Severity


class LatencyAlert(Alert):
    # Seconds: the p95 above which the alert fires.
    threshold: float = Field(gt=0, le=60)
    # Queries per second below which the p95 is not judged (a handful of slow queries at night).
    min_query_rate: float = Field(gt=0)


class HitRateAlert(Alert):
    # Ratio: the cache hit rate below which the alert fires.
    threshold: Annotated[float, AfterValidator(_ratio)]
    # Cache lookups per second below which the rate is not judged (and never 0/0).
    min_lookup_rate: float = Field(gt=0)


class PoolAlert(Alert):
    # Ratio of active to total connections in any pod's pool above which the alert fires.
    threshold: Annotated[float, AfterValidator(_ratio)]


class Alerts(Model):
    db_query_latency_p95: LatencyAlert
    cache_hit_rate: HitRateAlert
    db_pool_utilization: PoolAlert


class ContactPoint(Model):
    name: Annotated[str, matching(_NAME, "a contact point name: 1-100 letters, digits, spaces or ._()-")]
    # email: `addresses`; slack and pagerduty: their webhook URL / integration key come from the
    # secret config key grafanaSlackUrl / grafanaPagerdutyKey, never from the stack file in clear.
    type: Literal["email", "slack", "pagerduty"]
    addresses: tuple[Email, ...] = ()


class Grafana(Model):
    # Where dashboards and rules go: always from the stack, never GRAFANA_URL.
    url: Url
    org_id: int = Field(1, ge=1, strict=True)
    insecure_skip_verify: bool = False
    # CA bundle (path or PEM) for a private CA; empty means the system's trust store.
    ca_cert: str = ""
    retries: int = Field(3, ge=0, le=10, strict=True)
    retry_wait_seconds: int = Field(5, ge=0, le=60, strict=True)
    # Default: "Reconciliation backend (<stack>)", uid reconciliation-backend-<stack>.
    folder_title: Annotated[str, matching(_NAME, "a folder title: 1-100 letters, digits, spaces or ._()-")] | None = (
        None
    )
    folder_uid: Uid | None = None
    dashboard_uid: Uid | None = None
    # The Prometheus data source that already exists in Grafana.
    datasource_uid: Uid
    team: LabelValue = "platform"
    # The rate() window of every panel and rule: at least four scrape intervals.
    rate_window: Duration = "5m"
    # How often Grafana evaluates the rule group: a multiple of 10s.
    evaluation_interval: Duration = "1m"
    # Where docs/runbooks/ of this repository can be read (annotations' runbook_url).
    runbook_base_url: Url
    contact_point: ContactPoint
    # Off by default: the global notification policy tree of a shared Grafana is not ours.
    manage_notification_policy: bool = False
    alerts: Alerts

    def folder_uid_for(self, stack: str) -> str:
        return self.folder_uid or default_folder_uid(stack)

    def dashboard_uid_for(self, stack: str) -> str:
        return self.dashboard_uid or default_dashboard_uid(stack)

    def folder_title_for(self, stack: str) -> str:
        return self.folder_title or f"Reconciliation backend ({stack})"


def default_folder_uid(stack: str) -> str:
    return f"reconciliation-{stack}"[:40]


def default_dashboard_uid(stack: str) -> str:
    return f"reconciliation-backend-{stack}"[:40]
