"""The explicit Grafana provider every dashboard, folder and alert rule goes through."""

from __future__ import annotations

import pulumi
from pulumiverse_grafana import Provider

from settings.stack import StackSettings


def grafana_provider_inputs(settings: StackSettings) -> dict:
    """Every input the SDK would otherwise fill from the shell (GRAFANA_URL, GRAFANA_ORG_ID,
    GRAFANA_INSECURE_SKIP_VERIFY, GRAFANA_CA_CERT, GRAFANA_RETRIES, ...), from the settings. The
    service endpoints this program never uses are pinned empty, so a stray GRAFANA_SM_URL or
    GRAFANA_ONCALL_URL cannot point the provider elsewhere either. Only the token may come from the
    shell (GRAFANA_AUTH) when the stack has no `grafanaAuth` secret."""
    grafana = settings.grafana
    inputs = {
        "url": grafana.url,
        "org_id": grafana.org_id,
        "insecure_skip_verify": grafana.insecure_skip_verify,
        "ca_cert": grafana.ca_cert,
        "retries": grafana.retries,
        "retry_wait": grafana.retry_wait_seconds,
        # The dashboard's JSON stays in state, so a preview shows what changed in it.
        "store_dashboard_sha256": False,
        "cloud_api_url": "",
        "oncall_url": "",
        "sm_url": "",
    }
    if settings.grafana_auth is not None:
        inputs["auth"] = pulumi.Output.secret(settings.grafana_auth.get_secret_value())
    return inputs


def grafana_provider(settings: StackSettings) -> Provider:
    return Provider(f"grafana-{settings.environment}", **grafana_provider_inputs(settings))
