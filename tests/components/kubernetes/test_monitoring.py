"""The PodMonitor (components/kubernetes/monitoring.py) on the wire, for every stack: it selects the
backend's pods, and its schema refuses what the operator would."""

from __future__ import annotations

import json

import jsonschema
import pytest
from helpers import shared_run

from components.kubernetes.pod import PORT_NAME
from offline.harness import ROOT, RunResult

POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
SCHEMA = json.loads((ROOT / "schemas" / "prometheus-operator-v1.schema.json").read_text())


def _pod_monitor_of(result: RunResult) -> dict:
    return result.one(POD_MONITOR).inputs


def _validate(manifest: dict) -> None:
    jsonschema.Draft7Validator({**SCHEMA, "$ref": "#/definitions/PodMonitor"}).validate(manifest)


def test_the_pod_monitor_selects_the_backends_pods(result: RunResult, settings) -> None:
    monitor = settings.backend.metrics.pod_monitor
    if not monitor.enabled:
        assert result.by_type(POD_MONITOR) == []
        result = shared_run(settings.environment, {"backend.metrics.podMonitor.enabled": True})
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
    # prod's shared run (helpers.shared_run), copied through JSON before the change.
    manifest = json.loads(json.dumps(_pod_monitor_of(shared_run("prod"))))
    _validate(manifest)
    node = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        _validate(manifest)
