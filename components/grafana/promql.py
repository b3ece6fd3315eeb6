"""The PromQL of the dashboard and the alerts, built from the metric contract and the settings.

Every ratio sums its rates before dividing and guards its divisor, so no traffic gives no data,
never NaN (Grafana's threshold step treats NaN as firing); every quantile sums its bucket rates
``by (le)`` first, so it is the quantile of the last window across pods, not of each series'
counts since the process started.
"""

from __future__ import annotations

from decimal import Decimal

from components.kubernetes.pod import CONTAINER
from settings import metrics
from settings.stack import StackSettings

QUANTILE = metrics.DB_QUERY_QUANTILE


def selector(settings: StackSettings, *extra: str) -> str:
    """The backend's pods: its namespace, and the Deployment's pod names (<name>-<hash>-<suffix>)."""
    name = settings.object_name("deployment")
    matchers = [f'namespace="{settings.kubernetes.namespace}"', f'pod=~"{name}-[a-z0-9]+-[a-z0-9]+"', *extra]
    return "{" + ", ".join(matchers) + "}"


def _container(settings: StackSettings, *extra: str) -> str:
    return selector(settings, f'container="{CONTAINER}"', *extra)


def _rate(settings: StackSettings, metric: str) -> str:
    return f"rate({metric}{selector(settings)}[{settings.grafana.rate_window}])"


def db_query_p95(settings: StackSettings, by: str = "") -> str:
    labels = f"{by}, le" if by else "le"
    bucket = _rate(settings, f"{metrics.DB_QUERY_DURATION}_bucket")
    return f"histogram_quantile({QUANTILE}, sum by ({labels}) ({bucket}))"


def db_query_rate(settings: StackSettings) -> str:
    return f"sum({_rate(settings, f'{metrics.DB_QUERY_DURATION}_count')})"


def db_query_p95_gated(settings: StackSettings) -> str:
    """The p95 only while at least ``minQueryRate`` queries per second run: no data otherwise."""
    floor = settings.grafana.alerts.db_query_latency_p95.min_query_rate
    return f"{db_query_p95(settings)} and on() ({db_query_rate(settings)} >= {number(floor)})"


def _lookups(settings: StackSettings, by: str = "") -> tuple[str, str]:
    """Hit and miss rates, each 0 where only the other exists (a level with no hit yet has no hits series)."""
    group = f" by ({by})" if by else ""
    hits = f"sum{group} ({_rate(settings, metrics.CACHE_HITS)})"
    misses = f"sum{group} ({_rate(settings, metrics.CACHE_MISSES)})"
    if not by:
        return f"({hits} or vector(0))", f"({misses} or vector(0))"
    return f"({hits} or 0 * {misses})", f"({misses} or 0 * {hits})"


def cache_hit_rate(settings: StackSettings, by: str = "") -> str:
    hits, misses = _lookups(settings, by)
    return f"{hits} / ({hits} + {misses} > 0)"


def cache_hit_rate_gated(settings: StackSettings) -> str:
    """Hits over lookups while at least ``minLookupRate`` lookups per second run: no data otherwise."""
    hits, misses = _lookups(settings)
    floor = settings.grafana.alerts.cache_hit_rate.min_lookup_rate
    return f"{hits} / ({hits} + {misses} >= {number(floor)})"


def pool_gauge(settings: StackSettings, metric: str) -> str:
    return f"sum by (pod) ({metric}{selector(settings)})"


def pool_utilization(settings: StackSettings) -> str:
    """Active over total connections of each pod's own pool."""
    total = pool_gauge(settings, metrics.POOL_TOTAL)
    return f"{pool_gauge(settings, metrics.POOL_ACTIVE)} / ({total} > 0)"


def pool_utilization_max(settings: StackSettings) -> str:
    """The fullest pod's pool: one saturated pod queues its requests whatever the others do."""
    return f"max({pool_utilization(settings)})"


def cpu_cores(settings: StackSettings) -> str:
    return f"sum by (pod) (rate({metrics.CONTAINER_CPU}{_container(settings)}[{settings.grafana.rate_window}]))"


def memory_bytes(settings: StackSettings) -> str:
    return f"sum by (pod) ({metrics.CONTAINER_MEMORY}{_container(settings)})"


def restarts(settings: StackSettings) -> str:
    return f"sum by (pod) (increase({metrics.CONTAINER_RESTARTS}{_container(settings)}[1h]))"


def oom_kills(settings: StackSettings) -> str:
    oom = _container(settings, 'reason="OOMKilled"')
    return f"sum by (pod) ({metrics.CONTAINER_LAST_TERMINATED}{oom})"


def replicas(settings: StackSettings, metric: str) -> str:
    name = settings.object_name("deployment")
    return f'sum({metric}{{namespace="{settings.kubernetes.namespace}", deployment="{name}"}})'


def number(value: float | Decimal) -> str:
    """A PromQL number literal for a settings' value, exactly: 128Mi is 134217728 bytes, 100m is
    0.1 cores, a threshold of 0.1234567 stays that (six significant digits would round them off)."""
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return f"{exact.normalize():f}"


def constant(value: int | Decimal) -> str:
    """A flat line (a request, a limit, the HPA's bounds) drawn from the settings' own number."""
    return f"vector({number(value)})"
