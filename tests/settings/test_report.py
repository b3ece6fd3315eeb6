"""The settings layer's report (settings/report.py): one line per problem naming the key, the value
(masked when secret) and what is allowed; unknown keys, secrets that must or must not be secrets,
and the values the API server or a reviewer would refuse."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import changed, problems, run_changed, validated

from offline.harness import PROJECT, StackRun, stack_config, to_wire
from settings.report import allowed_keys
from settings.stack import StackSettings

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES: dict[str, tuple[str, dict[str, Any], str]] = {
    "unknown backend key": (
        "dev",
        {"backend.replicas": 3},
        f"{NS}:backend.replicas = 3: unknown key; allowed keys: autoscaling, disruptionBudget, env, image, "
        "metrics, name, names, networkPolicy, port, probes, resources, rollout, security, selector, servicePort, "
        "termination, tmpSizeLimit, topologySpread",
    ),
    "unknown nested key": (
        "prod",
        {"backend.autoscaling.behavior.scaleUp.polices": []},
        f"{NS}:backend.autoscaling.behavior.scaleUp.polices = []: unknown key; allowed keys: policies, "
        "selectPolicy, stabilizationWindowSeconds",
    ),
    "unknown top-level key": (
        "dev",
        {"backnd": {"port": 8080}},
        f'{NS}:backnd = {{"port": 8080}}: unknown key; allowed keys: aws, backend, capacity, environment, grafana, '
        "grafanaAuth, grafanaPagerdutyKey, grafanaSlackUrl, kubeconfig, kubernetes, production, secrets",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


def test_kubeconfig_must_be_a_secret_and_is_never_echoed() -> None:
    config, _ = stack_config("dev")
    config[f"{NS}:kubeconfig"] = "apiVersion: v1\nclusters: []\ntoken: hunter2"
    lines = problems(StackRun("dev", config, []))
    assert lines == [f"{NS}:kubeconfig = [not a secret]: must be set with `pulumi config set --secret kubeconfig`"]
    assert "hunter2" not in "\n".join(lines)


def test_secret_values_are_masked_in_errors() -> None:
    document = changed("dev", {"backend.env.DB_PASSWORD": 1.5})  # invalid, and the key is secret
    config, _ = to_wire(document)
    lines = problems(StackRun("dev", config, [f"{NS}:backend"]))
    assert f"{NS}:backend.env.DB_PASSWORD = [secret]: expected a string" in lines
    assert "1.5" not in "\n".join(lines)


def test_application_secrets_are_refused_in_stack_config() -> None:
    # `pulumi config set --secret --path backend.env.DB_PASSWORD ...` marks the whole key secret;
    # the value would reach the Deployment as plain text, so the program refuses it.
    config, _ = stack_config("dev")
    lines = problems(StackRun("dev", config, [f"{NS}:backend"]))
    assert lines == [
        f"{NS}:backend = [secret]: only kubeconfig, grafanaAuth, grafanaSlackUrl, grafanaPagerdutyKey may be Pulumi "
        "secrets; application secrets belong in AWS Secrets Manager (synced by External Secrets), not in stack config"
    ]


def test_the_token_may_never_be_written_in_clear() -> None:
    lines = problems(run_changed("dev", {"grafanaAuth": "glsa_in_clear"}))
    assert lines == [f"{NS}:grafanaAuth = [not a secret]: must be set with `pulumi config set --secret grafanaAuth`"]


def test_snake_case_keys_are_not_accepted() -> None:
    _, problems = validated("dev", {"backend.autoscaling.min_replicas": 2})
    assert problems == [
        f"{PROJECT}:backend.autoscaling.min_replicas = 2: unknown key; allowed keys: behavior, maxReplicas, "
        "minReplicas, targetCpuUtilization, targetMemoryUtilization"
    ]


def test_a_dotted_top_level_key_hints_at_path() -> None:
    # `pulumi config set backend.port 8080` without --path stores one key named "backend.port".
    from settings.report import validate

    values = {key.removeprefix(f"{PROJECT}:"): v for key, v in changed("dev", {}).items() if key.startswith(PROJECT)}
    _, problems = validate({**values, "backend.port": "8080"}, set(), PROJECT, "dev")
    assert len(problems) == 1
    assert problems[0].startswith(f'{PROJECT}:backend.port = "8080": unknown key; allowed keys: aws, backend, ')
    assert problems[0].endswith("(nested keys are set with `pulumi config set --path`)")


def test_allowed_keys_walks_lists_and_optionals() -> None:
    assert allowed_keys(StackSettings, ("backend", "autoscaling", "behavior", "scaleUp", "policies", 0)) == [
        "periodSeconds",
        "type",
        "value",
    ]


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"backend.resources.requests.memory": "256m"}, "backend.resources.requests.memory"),
        ({"backend.resources.requests.cpu": "0.1m"}, "backend.resources.requests.cpu"),
        ({"backend.resources.requests.cpu": "0"}, "backend.resources.requests.cpu"),
        ({"backend.resources.limits.memory": "8Mi"}, "backend.resources.limits.memory"),
        ({"backend.name": "1backend"}, "backend.name"),
        ({"backend.name": "r" * 60}, "backend.name"),
        ({"backend.disruptionBudget": {"maxUnavailable": True}}, "backend.disruptionBudget.maxUnavailable"),
        ({"backend.disruptionBudget": {"maxUnavailable": "100%"}}, "backend.disruptionBudget.maxUnavailable"),
        ({"backend.disruptionBudget": {"minAvailable": 0}}, "backend.disruptionBudget.minAvailable"),
        ({"backend.topologySpread": []}, "backend.topologySpread"),
        ({"production": "DELETE"}, "production"),
        ({"environment": "staging"}, "environment"),
        ({"kubernetes.podSecurityVersion": "1.33"}, "kubernetes.podSecurityVersion"),
    ],
)
def test_values_the_api_server_or_a_reviewer_would_refuse(changes: dict, key: str) -> None:
    from helpers import DELETE

    changes = {k: (DELETE if v == "DELETE" else v) for k, v in changes.items()}
    _, problems = validated("prod", changes)
    assert [line.split(" = ")[0] for line in problems] == [f"{PROJECT}:{key}"], problems


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"kubernetes.namespace": "reconciliation-dev\n"}, "kubernetes.namespace"),
        ({"backend.image.tag": "1.4.2\n"}, "backend.image.tag"),
        ({"backend.name": "backend\n"}, "backend.name"),
        ({"backend.env": {"A\n": "x"}}, "backend.env.A\n"),
        ({"backend.resources.requests.cpu": " 100m"}, "backend.resources.requests.cpu"),
        ({"backend.tmpSizeLimit": "64Mi "}, "backend.tmpSizeLimit"),
        ({"kubernetes.context": "   "}, "kubernetes.context"),
        ({"backend.autoscaling.maxReplicas": 2**31}, "backend.autoscaling.maxReplicas"),
        ({"backend.rollout.maxSurge": 2**40}, "backend.rollout.maxSurge"),
        ({"backend.autoscaling.minReplicas": True}, "backend.autoscaling.minReplicas"),
        ({"backend.resources.limits.cpu": "99e99"}, "backend.resources.limits.cpu"),
    ],
)
def test_values_that_would_reach_a_manifest_malformed(changes: dict, key: str) -> None:
    _, problems = validated("dev", changes)
    assert [line.split(" = ")[0] for line in problems] == [f"{PROJECT}:{key}"], problems


def test_an_invalid_list_item_is_reported_once() -> None:
    _, problems = validated("prod", {"backend.autoscaling.behavior.scaleDown.policies": [{"type": "Percent"}]})
    assert all("at least 1 item" not in line for line in problems)
    assert len(problems) == 2  # value and periodSeconds missing
