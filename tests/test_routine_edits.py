"""Routine stack-file edits are followed, never fought: each real stack file, parsed, with the edits
a release or an operator makes every week (a CPU limit, a memory request, an alert threshold, the
image tag, the replica bounds, a reminder address, a new manual secret), still renders, and the
artefacts carry the edited values. The edits are computed from the parsed file (helpers.changed),
so this guard holds whatever the stack files say today; tests that pin a stack file's own text
instead of reading it fail the same edits (see the commit that added this file)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from helpers import changed, validated

from offline.harness import PROJECT, RunResult, StackRun, stack_names, to_wire
from settings.quantity import parse_quantity
from tools import rotation_policy

NEW_SECRET = "GUARD_API_KEY"
NEW_EMAIL = "guard-rotation@example.com"
MIB = 2**20


def _millicores(quantity: object) -> int:
    return int(parse_quantity(str(quantity)) * 1000)


def _edits(stack: str) -> dict:
    """The routine edits of ``stack``, each derived from its parsed file so that it is a change."""
    settings = validated(stack)[0]
    backend, secrets = settings.backend, settings.secrets
    resources = backend.resources
    # One CPU limit 50m higher; one memory request 16Mi off, kept at or below the limit.
    cpu_limit = f"{_millicores(resources.limits.cpu) + 50}m"
    request, limit = parse_quantity(resources.requests.memory), parse_quantity(resources.limits.memory)
    memory_request = f"{int((request + 16 * MIB if request + 16 * MIB <= limit else request - 16 * MIB) // MIB)}Mi"
    latency = settings.grafana.alerts.db_query_latency_p95.threshold
    scaling = backend.autoscaling
    entry = {
        "name": NEW_SECRET,
        "owner": "DevOps",
        "rotationDays": 180,
        "automation": "manual",
        "lastRotated": (date.today() - timedelta(days=1)).isoformat(),
        "description": "Key of the partner API the guard test adds",
    }
    if any(secret.import_arn for secret in secrets.inventory):  # a stack adopting its secrets (prod) names them
        account, region = settings.aws.allowed_account_ids[0], settings.aws.region
        entry["secretName"] = "reconciliation/guard-api-key"
        entry["importArn"] = f"arn:aws:secretsmanager:{region}:{account}:secret:reconciliation/guard-api-key-Gd4rT1"
    inventory = [*stack_inventory(stack), entry]
    emails = [NEW_EMAIL, *secrets.reminder_emails[1:]]
    return {
        "backend.resources.limits.cpu": cpu_limit,
        "backend.resources.requests.memory": memory_request,
        "grafana.alerts.dbQueryLatencyP95.threshold": float(Decimal(str(latency)) + Decimal("0.05")),
        "backend.image.tag": f"{backend.image.tag}-next",
        "backend.autoscaling.minReplicas": scaling.min_replicas + 1,
        "backend.autoscaling.maxReplicas": scaling.max_replicas + 2,
        "secrets.inventory": inventory,
        "secrets.reminderEmails": emails,
    }


def stack_inventory(stack: str) -> list:
    return list(changed(stack, {})[f"{PROJECT}:secrets"]["inventory"])


def _path(document: dict, dotted: str) -> Any:
    top, *rest = dotted.split(".")
    node = document[f"{PROJECT}:{top}"]
    for part in rest:
        node = node[part]
    return node


@pytest.fixture(scope="module")
def edited() -> dict[str, tuple[dict, dict, RunResult]]:
    """Each stack's edits, its edited document and the program's run over it, once per module."""
    runs = {}
    for stack in stack_names():
        edits = _edits(stack)
        document = changed(stack, edits)
        runs[stack] = (edits, document, StackRun(stack, *to_wire(document)).execute())
    return runs


def test_every_edit_is_a_change_and_validates(stack: str) -> None:
    edits = _edits(stack)
    original = changed(stack, {})
    for dotted, value in edits.items():
        assert _path(original, dotted) != value, dotted  # else the checks below prove nothing
    assert validated(stack, edits)[1] == []


def _container(result: RunResult) -> dict:
    (container,) = result.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"]
    return container


def test_the_workload_follows_the_edits(edited, stack: str) -> None:
    edits, document, result = edited[stack]
    container = _container(result)
    assert container["resources"]["limits"]["cpu"] == edits["backend.resources.limits.cpu"]
    assert container["resources"]["requests"]["memory"] == edits["backend.resources.requests.memory"]
    repository = _path(document, "backend.image.repository")
    assert container["image"] == f"{repository}:{edits['backend.image.tag']}"
    labels = result.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == edits["backend.image.tag"]
    hpa = result.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    bounds = (edits["backend.autoscaling.minReplicas"], edits["backend.autoscaling.maxReplicas"])
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == bounds
    # The new secret reaches the pods from the synced Secret, never as a value.
    (variable,) = [v for v in container["env"] if v["name"] == NEW_SECRET]
    assert variable["valueFrom"]["secretKeyRef"]["key"] == NEW_SECRET
    assert "value" not in variable


def test_the_alert_threshold_follows_the_edit(edited, stack: str) -> None:
    edits, _, result = edited[stack]
    (group,) = result.by_type("grafana:alerting/ruleGroup:RuleGroup")
    # The latency rule by its pinned uid suffix (components/grafana/alert_rules.py's, not the stack file's).
    (rule,) = [r for r in group.inputs["rules"] if r["uid"].endswith("-db-latency-p95")]
    (condition,) = [json.loads(d["model"]) for d in rule["datas"] if d["refId"] == rule["condition"]]
    (evaluator,) = [c["evaluator"] for c in condition["conditions"]]
    assert evaluator["params"] == [edits["grafana.alerts.dbQueryLatencyP95.threshold"]]


def test_a_new_secret_is_synced_readable_and_documented(edited, stack: str, monkeypatch) -> None:
    edits, document, result = edited[stack]
    entry = edits["secrets.inventory"][-1]
    name = entry.get("secretName", f"reconciliation/{stack}/{NEW_SECRET}")  # the program's default name
    (external,) = [
        r
        for r in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if any(d["secretKey"] == NEW_SECRET for d in r.inputs["spec"]["data"])
    ]
    (data,) = [d for d in external.inputs["spec"]["data"] if d["secretKey"] == NEW_SECRET]
    assert data["remoteRef"]["key"] == name
    (read,) = [r for r in result.by_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-read-secrets")]
    (statement,) = json.loads(read.inputs["policy"])["Statement"]
    account, region = _path(document, "aws.allowedAccountIds")[0], _path(document, "aws.region")
    assert f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????" in statement["Resource"]
    secrets = {r.inputs["name"]: r for r in result.by_type("aws:secretsmanager/secret:Secret")}
    assert name in secrets
    assert secrets[name].import_id == entry.get("importArn", "")  # adopted where the stack adopts
    # `./tasks.sh docs` over the edited file: a row and a runbook for the new manual secret.
    documents = {stack: document}
    monkeypatch.setattr(rotation_policy, "stack_document", lambda s: documents.get(s) or changed(s, {}))
    text = rotation_policy.render()
    assert f"| {NEW_SECRET} | `{name}` | 180 days | {entry['lastRotated']} |" in text
    assert f"#### {NEW_SECRET} ({stack})" in text


def test_reminders_go_to_the_edited_addresses(edited, stack: str) -> None:
    edits, _, result = edited[stack]
    endpoints = [r.inputs["endpoint"] for r in result.by_type("aws:sns/topicSubscription:TopicSubscription")]
    assert sorted(endpoints) == sorted(edits["secrets.reminderEmails"])  # registered concurrently: any order
