"""The PodMonitor (Prometheus Operator, monitoring.coreos.com/v1) that scrapes the backend's pods
where the cluster's Prometheus ignores `prometheus.io/*` annotations."""

from __future__ import annotations

from components.kubernetes.pod import PORT_NAME
from settings.stack import StackSettings

API_VERSION = "monitoring.coreos.com/v1"


def pod_monitor(settings: StackSettings) -> dict | None:
    """The PodMonitor, or None when the stack does not ask for one."""
    metrics = settings.backend.metrics
    monitor = metrics.pod_monitor
    if not (metrics.scrape and monitor.enabled):
        return None
    namespace = settings.kubernetes.namespace
    return {
        "apiVersion": API_VERSION,
        "kind": "PodMonitor",
        "metadata": {
            "name": settings.object_name("deployment"),
            "namespace": namespace,
            # The labels the Operator's Prometheus selects PodMonitors on, beside the release's own.
            "labels": {**settings.labels, **monitor.labels},
        },
        "spec": {
            "selector": {"matchLabels": settings.pod_selector},
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [
                {
                    "port": PORT_NAME,
                    "path": metrics.path,
                    "scheme": "http",
                    "interval": monitor.interval,
                    "scrapeTimeout": monitor.scrape_timeout,
                }
            ],
        },
    }
