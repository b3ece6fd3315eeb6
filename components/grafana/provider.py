"""The explicit Grafana provider every dashboard, folder and alert rule goes through."""

from __future__ import annotations

import pulumi
from pulumiverse_grafana import Provider

from settings.stack import StackSettings


def grafana_provider_inputs(settings: StackSettings) -> dict:
    """Where and how it deploys, from the settings: the URL, the organisation, TLS, retries.

    The provider falls back to GRAFANA_* variables for any input left unset, and counts `false`,
    `""` and `0` as unset too, so sending them does not shield it: the settings loader refuses
    every such variable but the credentials (settings/environment.py). Endpoints of services this
    program never uses (OnCall, Synthetic Monitoring, Grafana Cloud) stay unset: an empty one would
    make the provider build their clients and fail. Only the token may come from the shell
    (GRAFANA_AUTH) when the stack has no `grafanaAuth` secret."""
    grafana = settings.grafana
    inputs = {
        "url": grafana.url,
        "org_id": grafana.org_id,
        "insecure_skip_verify": grafana.insecure_skip_verify,
        "retries": grafana.retries,
        "retry_wait": grafana.retry_wait_seconds,
        # The dashboard's JSON stays in state, so a preview shows what changed in it.
        "store_dashboard_sha256": False,
    }
    if grafana.ca_cert:
        inputs["ca_cert"] = grafana.ca_cert
    if settings.grafana_auth is not None:
        inputs["auth"] = pulumi.Output.secret(settings.grafana_auth.get_secret_value())
    return inputs


def grafana_provider(settings: StackSettings) -> Provider:
    return Provider(f"grafana-{settings.environment}", **grafana_provider_inputs(settings))
