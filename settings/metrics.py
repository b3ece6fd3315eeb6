"""The metric contract: what the backend exports on ``backend.metrics.path``, and what the cluster's
exporters (cAdvisor, kube-state-metrics) say about its pods. Each name is written here once."""

from __future__ import annotations

# Histogram of database query time, labels route, operation, table.
DB_QUERY_DURATION = "reconciliation_db_query_duration_seconds"
DB_QUERY_LABELS = ("route", "operation", "table")
# Upper bounds of its buckets (seconds), as the backend declares them.
DB_QUERY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0)
# The quantile the dashboard and the latency alert read from it (written here, beside the buckets,
# because the settings bound the alert's threshold by what this quantile of these buckets can say).
DB_QUERY_QUANTILE = 0.95
# Counters of cache lookups, labels cache_level, key_type.
CACHE_HITS = "reconciliation_cache_hits_total"
CACHE_MISSES = "reconciliation_cache_misses_total"
CACHE_LABELS = ("cache_level", "key_type")
# Gauges of each pod's database connection pool.
POOL_ACTIVE = "reconciliation_db_pool_connections_active"
POOL_IDLE = "reconciliation_db_pool_connections_idle"
POOL_TOTAL = "reconciliation_db_pool_connections_total"

# cAdvisor (kubelet) and kube-state-metrics, as kube-prometheus-stack scrapes them.
CONTAINER_CPU = "container_cpu_usage_seconds_total"
CONTAINER_MEMORY = "container_memory_working_set_bytes"
CONTAINER_RESTARTS = "kube_pod_container_status_restarts_total"
CONTAINER_LAST_TERMINATED = "kube_pod_container_status_last_terminated_reason"
DEPLOYMENT_AVAILABLE = "kube_deployment_status_replicas_available"
DEPLOYMENT_DESIRED = "kube_deployment_spec_replicas"
