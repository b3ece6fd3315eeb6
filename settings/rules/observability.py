"""Rules of the observability settings: scraping, the contact point and its secrets, the alerts'
timing, and what production needs to page someone (see ``settings.engine`` for how they run)."""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_snake

from settings.engine import MISSING, Problem, rule
from settings.engine import at as _at
from settings.metrics import DB_QUERY_BUCKETS, DB_QUERY_QUANTILE
from settings.observability import default_dashboard_uid, default_folder_uid, seconds

# A rate() needs several samples in its window to survive a missed scrape (Prometheus' advice).
SAMPLES_PER_WINDOW = 4
# Grafana schedules rule groups on a 10 s base interval.
EVALUATION_STEP = 10
# Which secret config key each contact point type reads its webhook URL or integration key from.
CONTACT_SECRETS = {"slack": "grafanaSlackUrl", "pagerduty": "grafanaPagerdutyKey"}
ALERT_KEYS = ("dbQueryLatencyP95", "cacheHitRate", "dbPoolUtilization")


@rule("backend.metrics.podMonitor", "backend.metrics.scrape")
def pod_monitor_scrapes_in_time(monitor: Any, scrape: bool) -> list[Problem]:
    """A PodMonitor needs scraping on, and its scrape timeout may not exceed its interval."""
    where = _at("backend.metrics.podMonitor")
    found = []
    if monitor.enabled and not scrape:
        allowed = "needs backend.metrics.scrape: true (the NetworkPolicy only admits Prometheus when scraping is on)"
        found.append(Problem((*where, "enabled"), True, allowed))
    if seconds(monitor.scrape_timeout) > seconds(monitor.interval):
        allowed = f"must not exceed interval ({monitor.interval}); Prometheus refuses such a scrape config"
        found.append(Problem((*where, "scrapeTimeout"), monitor.scrape_timeout, allowed))
    return found


@rule("grafana.rateWindow", "backend.metrics.podMonitor")
def rate_window_holds_enough_samples(window: str, monitor: Any) -> list[Problem]:
    """The `rate()` window spans at least 4 scrape intervals, so that one missed scrape never empties a rate."""
    need = SAMPLES_PER_WINDOW * seconds(monitor.interval)
    if seconds(window) >= need:
        return []
    allowed = (
        f"at least {SAMPLES_PER_WINDOW} scrape intervals ({SAMPLES_PER_WINDOW} x {monitor.interval} = {need}s), "
        "or one missed scrape empties the rate"
    )
    return [Problem(_at("grafana.rateWindow"), window, allowed)]


@rule("grafana.evaluationInterval", "grafana.alerts")
def alerts_fit_the_evaluation_interval(interval: str, alerts: Any) -> list[Problem]:
    """The evaluation interval is a multiple of 10 s up to 1 h, and each alert's `for` a multiple of it."""
    step = seconds(interval)
    if step % EVALUATION_STEP or step > 3600:
        allowed = f"a multiple of {EVALUATION_STEP}s up to 1h (Grafana's scheduler ticks every {EVALUATION_STEP}s)"
        return [Problem(_at("grafana.evaluationInterval"), interval, allowed)]
    found = []
    for key in ALERT_KEYS:
        pending = getattr(alerts, to_snake(key)).for_
        if seconds(pending) % step:
            allowed = f"a multiple of grafana.evaluationInterval ({interval}): Grafana would round it up silently"
            found.append(Problem((*_at("grafana.alerts"), key, "for"), pending, allowed))
    return found


@rule("grafana.alerts.dbQueryLatencyP95.threshold")
def latency_threshold_is_measurable(threshold: float) -> list[Problem]:
    """The latency threshold lies where the p95 of the histogram's buckets can cross it.

    The alert fires on p95 > threshold. Prometheus' promql/quantile.go (bucketQuantile) never
    answers above the largest finite bucket bound (a rank in +Inf reads as that bound), so a
    threshold there or above never fires; and, the first bucket starting at 0, never below the
    quantile of that first bucket (every query in it), so a threshold under that always fires."""
    largest = max(DB_QUERY_BUCKETS)
    lowest = DB_QUERY_QUANTILE * min(DB_QUERY_BUCKETS)
    where = _at("grafana.alerts.dbQueryLatencyP95.threshold")
    if threshold >= largest:
        allowed = f"below {largest:g} s, the histogram's largest finite bucket: a p95 above it reads as {largest:g} s"
        return [Problem(where, threshold, allowed)]
    if threshold < lowest:
        allowed = (
            f"at least {lowest:g} s: the p95 of any traffic reads at least {DB_QUERY_QUANTILE:g} x the first "
            f"bucket ({min(DB_QUERY_BUCKETS):g} s), so the alert would always fire"
        )
        return [Problem(where, threshold, allowed)]
    return []


@rule("grafana.contactPoint", "grafanaSlackUrl", "grafanaPagerdutyKey")
def contact_point_has_what_its_type_needs(contact: Any, slack: Any, pagerduty: Any) -> list[Problem]:
    """An email contact point has addresses, a slack or pagerduty one its secret, and none another type's."""
    found = []
    where = _at("grafana.contactPoint")
    if contact.type == "email" and not contact.addresses:
        found.append(Problem((*where, "addresses"), [], "at least one address for an email contact point"))
    if contact.type != "email" and contact.addresses:
        allowed = f"only an email contact point has addresses (this one is {contact.type})"
        found.append(Problem((*where, "addresses"), list(contact.addresses), allowed))
    given = {"grafanaSlackUrl": slack, "grafanaPagerdutyKey": pagerduty}
    for kind, key in CONTACT_SECRETS.items():
        if contact.type == kind and given[key] is None:
            allowed = f"required for a {kind} contact point: `pulumi config set --secret {key} ...`"
            found.append(Problem((key,), MISSING, allowed))
        elif contact.type != kind and given[key] is not None:
            found.append(Problem((key,), given[key], f"only read by a {kind} contact point; remove it"))
    return found


@rule("production", "grafana.contactPoint", "grafana.alerts")
def production_critical_alerts_page(production: bool, contact: Any, alerts: Any) -> list[Problem]:
    """In production a critical alert pages someone: the contact point is of type `pagerduty`."""
    critical = [key for key in ALERT_KEYS if getattr(alerts, to_snake(key)).severity == "critical"]
    if not production or not critical or contact.type == "pagerduty":
        return []
    allowed = f"production routes critical alerts ({', '.join(critical)}) to a pager: type pagerduty"
    return [Problem((*_at("grafana.contactPoint"), "type"), contact.type, allowed)]


@rule("production", "grafana.url", "grafana.insecureSkipVerify")
def production_grafana_is_verified(production: bool, url: str, insecure: bool) -> list[Problem]:
    """Production talks to Grafana over https and verifies its certificate."""
    if not production:
        return []
    found = []
    if not url.startswith("https://"):
        found.append(Problem(_at("grafana.url"), url, "production talks to Grafana over https only"))
    if insecure:
        found.append(Problem(_at("grafana.insecureSkipVerify"), insecure, "production verifies Grafana's certificate"))
    return found


@rule("grafana.orgId", "grafanaAuth")
def another_organisation_needs_basic_auth(org_id: int, auth: Any) -> list[Problem]:
    """An organisation other than 1 needs `grafanaAuth` as `user:password`."""
    # A service account token belongs to one organisation: the provider refuses org_id > 1 with one.
    if org_id == 1 or (auth is not None and ":" in auth.get_secret_value()):
        return []
    allowed = (
        "an organisation other than 1 needs basic auth: the secret grafanaAuth as user:password "
        "(a service account token is scoped to its own organisation; use org 1 with it)"
    )
    return [Problem(_at("grafana.orgId"), org_id, allowed)]


@rule("grafana.folderUid", "grafana.dashboardUid", "@stack")
def folder_and_dashboard_uids_differ(folder: str | None, dashboard: str | None, stack: str) -> list[Problem]:
    """The folder's and the dashboard's uids differ."""
    # Grafana keeps folders and dashboards under one uid namespace.
    if (folder or default_folder_uid(stack)) != (dashboard or default_dashboard_uid(stack)):
        return []
    return [Problem(_at("grafana.dashboardUid"), dashboard, "must differ from the folder's uid")]
