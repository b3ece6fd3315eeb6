"""The Grafana component (components/grafana/observability.py), for every stack: one folder per
stack, the contact point with its key kept secret, the notification policy only when asked for."""

from __future__ import annotations

import asyncio
import json

from helpers import run_changed

from components.grafana.observability import contact_point_inputs
from offline.harness import PROJECT, RunResult, Secret, StackRun, stack_config

FOLDER = "grafana:oss/folder:Folder"
CONTACT = "grafana:alerting/contactPoint:ContactPoint"
POLICY = "grafana:alerting/notificationPolicy:NotificationPolicy"


def test_one_folder_per_stack_protected_in_production(result: RunResult, settings) -> None:
    folder = result.one(FOLDER)
    assert folder.inputs["title"] == settings.grafana.folder_title_for(settings.environment)
    assert folder.inputs["uid"] == f"reconciliation-{settings.environment}"
    assert folder.protect is settings.production
    assert folder.inputs["preventDestroyIfNotEmpty"] is settings.production
    assert result.one("reconciliation:observability:Observability").urn == folder.parent


def test_the_contact_point_keeps_its_key_secret(result: RunResult, settings) -> None:
    contact = result.one(CONTACT)
    expected = settings.grafana.contact_point
    assert contact.inputs["name"] == expected.name
    if expected.type == "email":
        assert contact.inputs["emails"] == [{"addresses": list(expected.addresses), "singleEmail": True}]
    else:
        # The whole receiver list is a secret on the wire: the key is inside it.
        assert isinstance(contact.inputs[f"{expected.type}s" if expected.type == "slack" else "pagerduties"], Secret)
    assert "set-with-pulumi" not in repr([r.inputs for r in result.resources])


def test_a_pagerduty_receiver_pages_with_the_alerts_severity() -> None:
    from helpers import validated

    settings, problems = validated("prod")
    assert problems == []

    async def receiver_and_secrecy() -> tuple[dict, bool]:
        (receiver,) = contact_point_inputs(settings)["pagerduties"]
        return receiver, await receiver["integrationKey"].is_secret()

    # On a loop of the test's own, ended with it: no output left pending in, nor a loop asked of,
    # the worker's main thread.
    loop = asyncio.new_event_loop()
    try:
        receiver, secret = loop.run_until_complete(receiver_and_secrecy())
    finally:
        loop.close()
    assert receiver["severity"] == "{{ .CommonLabels.severity }}"
    assert receiver["component"] == settings.backend.name
    assert secret  # wrapped as a Pulumi secret


def test_a_slack_contact_point_reads_its_webhook_from_a_secret() -> None:
    config, secret_keys = stack_config("dev")
    contact = {"name": "reconciliation-dev-slack", "type": "slack"}
    grafana = {**json.loads(config[f"{PROJECT}:grafana"]), "contactPoint": contact}
    config[f"{PROJECT}:grafana"] = json.dumps(grafana)
    config[f"{PROJECT}:grafanaSlackUrl"] = "https://hooks.slack.com/services/T0/B0/hunter2"
    result = StackRun("dev", config, [*secret_keys, f"{PROJECT}:grafanaSlackUrl"]).execute()
    assert isinstance(result.one(CONTACT).inputs["slacks"], Secret)
    assert "hunter2" not in repr([r.inputs for r in result.resources])


def test_the_global_notification_policy_is_an_explicit_opt_in(result: RunResult) -> None:
    assert result.by_type(POLICY) == []
    opted = run_changed("dev", {"grafana.manageNotificationPolicy": True}).execute()
    policy = opted.one(POLICY)
    assert policy.inputs["contactPoint"] == "reconciliation-dev"
    assert policy.inputs["groupBies"] == ["grafana_folder", "alertname"]
