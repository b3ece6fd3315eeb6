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
    """A duration such as 30s, 5m or 1h30m: whole h, m and s, largest first, above 0."""
    if isinstance(value, str) and _DURATION.fullmatch(value) and seconds(value) > 0:
        return value
    raise ValueError("expected a duration such as 30s, 5m or 1h30m (whole h, m and s, largest first, above 0)")


Duration = Annotated[str, PlainValidator(_duration)]
Uid = Annotated[str, matching(_UID, "a Grafana uid: 1-40 letters, digits, '-' or '_'")]
Url = Annotated[str, matching(_URL, "an http(s) URL such as https://grafana.example.com, no query or fragment")]
Severity = Literal["critical", "warning", "info"]


def _ratio(value: float) -> float:
    """A ratio between 0 and 1, both excluded, such as 0.6 for 60 %."""
    if not 0 < value < 1:
        raise ValueError("expected a ratio between 0 and 1 exclusive, such as 0.6 for 60 %")
    return value


class PodMonitor(Model):
    """For clusters running the Prometheus Operator, which ignores `prometheus.io/*` annotations."""

    enabled: bool = Field(False, description="Declare the PodMonitor; needs `backend.metrics.scrape: true`.")
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        description="The labels the Operator's Prometheus selects PodMonitors on (kube-prometheus-stack: "
        "`release: <helm release>`, unless its `podMonitorSelectorNilUsesHelmValues` is false).",
    )
    interval: Duration = Field("30s", description="How often Prometheus scrapes each pod.")
    scrape_timeout: Duration = Field("10s", description="How long a scrape may take; at most `interval`.")


class Alert(Model):
    for_: Duration = Field(
        "5m",
        alias="for",
        description="How long the condition must hold before the alert fires; a multiple of "
        "`grafana.evaluationInterval`.",
    )
    severity: Severity = Field(
        description="The alert's `severity` label; production sends a critical alert to a `pagerduty` contact point."
    )


class LatencyAlert(Alert):
    threshold: float = Field(
        gt=0,
        le=60,
        description="Seconds: the p95 of database query time above which the alert fires; below 2, the "
        "histogram's largest finite bucket, above which the p95 cannot be told.",
    )
    min_query_rate: float = Field(
        gt=0,
        description="Queries per second below which the p95 is not judged (a handful of slow queries at night).",
    )


class HitRateAlert(Alert):
    threshold: Annotated[float, AfterValidator(_ratio)] = Field(
        description="The ratio of cache hits to lookups below which the alert fires (0.6 for 60 %)."
    )
    min_lookup_rate: float = Field(
        gt=0, description="Cache lookups per second below which the rate is not judged (and never 0/0)."
    )


class PoolAlert(Alert):
    threshold: Annotated[float, AfterValidator(_ratio)] = Field(
        description="The ratio of active to total connections, in any pod's pool, above which the alert fires."
    )


class Alerts(Model):
    db_query_latency_p95: LatencyAlert = Field(description="The p95 of database query time is too high.")
    cache_hit_rate: HitRateAlert = Field(description="Too few cache lookups hit.")
    db_pool_utilization: PoolAlert = Field(description="A pod's database connection pool is nearly exhausted.")


class ContactPoint(Model):
    name: Annotated[str, matching(_NAME, "a contact point name: 1-100 letters, digits, spaces or ._()-")] = Field(
        description="The contact point's name in Grafana."
    )
    type: Literal["email", "slack", "pagerduty"] = Field(
        description="`email` sends to `addresses`; `slack` and `pagerduty` read their webhook URL or integration "
        "key from the secret `grafanaSlackUrl` or `grafanaPagerdutyKey`, never from the stack file in clear."
    )
    addresses: tuple[Email, ...] = Field(
        (), description="The addresses of an `email` contact point, at least one; only an `email` one has them."
    )


class Grafana(Model):
    url: Url = Field(
        description="The Grafana the dashboard and rules go to, always from the stack, never `GRAFANA_URL`; https "
        "in production."
    )
    org_id: int = Field(
        1,
        ge=1,
        strict=True,
        description="The organisation, never `GRAFANA_ORG_ID`; another than 1 needs `grafanaAuth` as `user:password`.",
    )
    insecure_skip_verify: bool = Field(
        False, description="Skip the verification of Grafana's certificate; refused in production."
    )
    ca_cert: str = Field(
        "", description="A CA bundle (a path or PEM) for a private CA; empty, the system's trust store."
    )
    retries: int = Field(3, ge=0, le=10, strict=True, description="How often the provider retries a failed API call.")
    retry_wait_seconds: int = Field(5, ge=0, le=60, strict=True, description="Seconds between two retries.")
    folder_title: Annotated[str, matching(_NAME, "a folder title: 1-100 letters, digits, spaces or ._()-")] | None = (
        Field(None, description="The folder's title; unset, `Reconciliation backend (<stack>)`.")
    )
    folder_uid: Uid | None = Field(
        None, description="The folder's uid; unset, `reconciliation-<stack>`. Not the dashboard's."
    )
    dashboard_uid: Uid | None = Field(None, description="The dashboard's uid; unset, `reconciliation-backend-<stack>`.")
    datasource_uid: Uid = Field(description="The uid of the Prometheus data source that already exists in Grafana.")
    team: LabelValue = Field("platform", description="The alerts' `team` label.")
    rate_window: Duration = Field(
        "5m",
        description="The `rate()` window of every panel and rule: at least 4 PodMonitor scrape intervals, so that "
        "one missed scrape never empties it.",
    )
    evaluation_interval: Duration = Field(
        "1m", description="How often Grafana evaluates the rule group: a multiple of 10 s, at most 1 h."
    )
    runbook_base_url: Url = Field(
        description="Where this repository's `docs/runbooks/` can be read: each alert's `runbook_url` is this "
        "and its file."
    )
    contact_point: ContactPoint = Field(description="Where the alerts go.")
    manage_notification_policy: bool = Field(
        False,
        description="Manage the organisation's whole notification policy tree; off by default, since the tree of a "
        "shared Grafana is not the stack's (the rules route per rule).",
    )
    alerts: Alerts = Field(description="The three alerts, each required.")

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
