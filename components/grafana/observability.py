"""Grafana side of the backend's observability: a folder per stack, the dashboard, the contact
point and one rule group of Grafana-managed alerts routed to it."""

from __future__ import annotations

import pulumi
from pulumiverse_grafana.alerting import ContactPoint, NotificationPolicy, RuleGroup
from pulumiverse_grafana.oss import Dashboard, Folder

from components.grafana import alert_rules
from components.grafana.dashboard import dashboard_json
from settings.observability import seconds
from settings.stack import StackSettings

# PagerDuty's severity follows the alert's own label (critical, warning, info are PagerDuty's too).
PAGERDUTY_SEVERITY = "{{ .CommonLabels.severity }}"


def contact_point_inputs(settings: StackSettings) -> dict:
    """The receiver of the contact point's type; webhook URLs and keys stay Pulumi secrets."""
    contact = settings.grafana.contact_point
    inputs: dict = {"name": contact.name, "disable_provenance": False}
    if contact.type == "email":
        inputs["emails"] = [{"addresses": list(contact.addresses), "singleEmail": True}]
    elif contact.type == "slack":
        # Set for a slack or pagerduty contact point: settings/rules/observability.py refuses it unset.
        assert settings.grafana_slack_url is not None
        inputs["slacks"] = [{"url": pulumi.Output.secret(settings.grafana_slack_url.get_secret_value())}]
    else:
        assert settings.grafana_pagerduty_key is not None
        key = pulumi.Output.secret(settings.grafana_pagerduty_key.get_secret_value())
        inputs["pagerduties"] = [
            {
                "integrationKey": key,
                "severity": PAGERDUTY_SEVERITY,
                "component": settings.backend.name,
                "group": settings.environment,
            }
        ]
    return inputs


class Observability(pulumi.ComponentResource):
    """Folder, dashboard, contact point and rule group in the stack's Grafana."""

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("reconciliation:observability:Observability", name, None, opts)
        grafana, stack = settings.grafana, settings.environment
        child = pulumi.ResourceOptions(parent=self)
        # Deleting a folder deletes its dashboards and rules: production's is protected.
        folder = Folder(
            f"{name}-folder",
            title=grafana.folder_title_for(stack),
            uid=grafana.folder_uid_for(stack),
            prevent_destroy_if_not_empty=settings.production,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.production),
        )
        self.dashboard = Dashboard(
            f"{name}-dashboard",
            config_json=dashboard_json(settings),
            folder=folder.uid,
            message=f"{pulumi.get_project()}/{stack}: pulumi up",
            overwrite=False,
            opts=child,
        )
        contact = ContactPoint(f"{name}-contact", **contact_point_inputs(settings), opts=child)
        RuleGroup(
            f"{name}-rules",
            name=alert_rules.GROUP,
            folder_uid=folder.uid,
            interval_seconds=seconds(grafana.evaluation_interval),
            # The rules as the provider reads them (camelCase, as tests check on the wire); the
            # SDK's TypedDicts describe only the snake_case spelling of the same inputs.
            rules=alert_rules.grafana_rules(settings),  # type: ignore[arg-type]
            disable_provenance=False,
            # The rules route to the contact point by name: it must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[contact]),
        )
        if grafana.manage_notification_policy:
            # Opt-in: this replaces the organisation's whole policy tree with one route.
            NotificationPolicy(
                f"{name}-policy",
                contact_point=grafana.contact_point.name,
                group_bies=["grafana_folder", "alertname"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[contact]),
            )
        self.dashboard_url = self.dashboard.url
        self.register_outputs({"dashboardUrl": self.dashboard_url, "folderUid": folder.uid})
