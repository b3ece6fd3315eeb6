"""Every validation rule, through the real program: one clear line per problem, nothing registered."""

from __future__ import annotations

import json

import pytest
from helpers import DELETE, changed, problems, run_changed

from offline.harness import StackRun, stack_config, stack_document, to_wire

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES = {
    "min above max replicas": (
        "dev",
        # Both bounds set here: the line names the ceiling, whatever dev's file says.
        {"backend.autoscaling.minReplicas": 5, "backend.autoscaling.maxReplicas": 3},
        f"{NS}:backend.autoscaling.minReplicas = 5: must not exceed autoscaling.maxReplicas (3)",
    ),
    "cpu utilization 0": (
        "prod",
        {"backend.autoscaling.targetCpuUtilization": 0},
        f"{NS}:backend.autoscaling.targetCpuUtilization = 0: Input should be greater than or equal to 1",
    ),
    "memory utilization 101": (
        "prod",
        {"backend.autoscaling.targetMemoryUtilization": 101},
        f"{NS}:backend.autoscaling.targetMemoryUtilization = 101: Input should be less than or equal to 100",
    ),
    "malformed cpu": (
        "dev",
        {"backend.resources.requests.cpu": "500x"},
        f'{NS}:backend.resources.requests.cpu = "500x": expected a non-negative Kubernetes quantity such as '
        "250m, 0.5, 512Mi or 1Gi",
    ),
    "negative memory": (
        "dev",
        {"backend.resources.limits.memory": "-1Gi"},
        f'{NS}:backend.resources.limits.memory = "-1Gi": expected a non-negative Kubernetes quantity such as '
        "250m, 0.5, 512Mi or 1Gi",
    ),
    "request above limit": (
        "prod",
        {"backend.resources.requests.memory": "1Gi", "backend.resources.limits.memory": "512Mi"},
        f'{NS}:backend.resources.requests.memory = "1Gi": must not exceed limits.memory (512Mi)',
    ),
    "minAvailable equal to minReplicas": (
        "prod",
        {"backend.disruptionBudget.minAvailable": 2, "backend.autoscaling.minReplicas": 2},
        f"{NS}:backend.disruptionBudget.minAvailable = 2: must be below autoscaling.minReplicas (2), or no pod "
        "may ever be evicted and node drains block",
    ),
    "minAvailable 100%": (
        "prod",
        {"backend.disruptionBudget.minAvailable": "100%", "backend.autoscaling.minReplicas": 2},
        f'{NS}:backend.disruptionBudget.minAvailable = "100%": must be below autoscaling.minReplicas (2), or '
        "no pod may ever be evicted and node drains block",
    ),
    "maxUnavailable 0": (
        "dev",
        {"backend.disruptionBudget.maxUnavailable": 0},
        f"{NS}:backend.disruptionBudget.maxUnavailable = 0: must allow at least 1 pod: 0 blocks every drain",
    ),
    "both budget fields": (
        "prod",
        {"backend.disruptionBudget": {"minAvailable": 1, "maxUnavailable": 1}},
        f'{NS}:backend.disruptionBudget = {{"minAvailable": 1, "maxUnavailable": 1}}: set exactly one of '
        "minAvailable or maxUnavailable",
    ),
    "neither budget field": (
        "dev",
        {"backend.disruptionBudget.maxUnavailable": DELETE},
        f'{NS}:backend.disruptionBudget = {{"minAvailable": null, "maxUnavailable": null}}: set exactly one of '
        "minAvailable or maxUnavailable",
    ),
    "image without tag or digest": (
        "dev",
        {"backend.image.tag": DELETE},
        f"{NS}:backend.image.tag = (not set): set image.tag or image.digest (an untagged image is :latest)",
    ),
    "latest in production": (
        "prod",
        {"backend.image.tag": "latest"},
        f'{NS}:backend.image.tag = "latest": production stacks refuse the tag latest; pin a release tag (a digest '
        "alone is fine)",
    ),
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
    "missing context": (
        "prod",
        {"kubernetes.context": DELETE},
        f"{NS}:kubernetes.context = (not set): required key is missing",
    ),
    "missing backend": ("dev", {"backend": DELETE}, f"{NS}:backend = (not set): required key is missing"),
    "non-positive policy value": (
        "prod",
        {"backend.autoscaling.behavior.scaleDown.policies.0.value": 0},
        f"{NS}:backend.autoscaling.behavior.scaleDown.policies[0].value = 0: Input should be greater than 0",
    ),
    "non-positive policy period": (
        "prod",
        {"backend.autoscaling.behavior.scaleUp.policies.1.periodSeconds": -30},
        f"{NS}:backend.autoscaling.behavior.scaleUp.policies[1].periodSeconds = -30: Input should be greater than 0",
    ),
    "unknown policy type": (
        "prod",
        {"backend.autoscaling.behavior.scaleUp.policies.0.type": "percent"},
        f"{NS}:backend.autoscaling.behavior.scaleUp.policies[0].type = \"percent\": Input should be 'Pods' or "
        "'Percent'",
    ),
    "IfNotPresent without digest": (
        "dev",
        {"backend.image.pullPolicy": "IfNotPresent"},
        f'{NS}:backend.image.pullPolicy = "IfNotPresent": IfNotPresent needs image.digest (a tag can be '
        "re-pushed); use Always or pin a digest",
    ),
    "bad digest": (
        "dev",
        {"backend.image.digest": "sha256:abc"},
        f'{NS}:backend.image.digest = "sha256:abc": expected a digest such as sha256:<64 hex digits>',
    ),
    "probe timeout not below period": (
        "dev",
        {"backend.probes": {"readiness": {"periodSeconds": 2, "timeoutSeconds": 2, "failureThreshold": 3}}},
        f"{NS}:backend.probes.readiness.timeoutSeconds = 2: must be less than periodSeconds (2) so probes "
        "never overlap",
    ),
    "preStop eats the grace period": (
        "dev",
        {"backend.termination.preStopSleepSeconds": 20},
        f"{NS}:backend.termination.preStopSleepSeconds = 20: must be less than gracePeriodSeconds (20), or the "
        "app gets no time to shut down",
    ),
    "tmp larger than ephemeral limit": (
        "dev",
        {"backend.tmpSizeLimit": "1Gi"},
        f'{NS}:backend.tmpSizeLimit = "1Gi": must not exceed resources.limits.ephemeralStorage (512Mi)',
    ),
    "rollout that cannot progress": (
        "dev",
        {"backend.rollout.maxSurge": 0},
        f"{NS}:backend.rollout.maxSurge = 0: maxSurge and maxUnavailable cannot both be 0",
    ),
    "bad surge percentage": (
        "dev",
        {"backend.rollout.maxSurge": "150%"},
        f'{NS}:backend.rollout.maxSurge = "150%": expected a whole number >= 0 or a percentage from 0% to 100%, '
        "such as 1 or 25%",
    ),
    "duplicate spread key": (
        "prod",
        {"backend.topologySpread": [{"topologyKey": "kubernetes.io/hostname"}] * 2},
        f'{NS}:backend.topologySpread = [{{"topologyKey": "kubernetes.io/hostname"}}, {{"topologyKey": '
        '"kubernetes.io/hostname"}]: each topologyKey may appear once, got kubernetes.io/hostname, '
        "kubernetes.io/hostname",
    ),
    "privileged port": (
        "dev",
        {"backend.port": 80},
        f"{NS}:backend.port = 80: Input should be greater than or equal to 1024",
    ),
    "root-range uid": (
        "dev",
        {"backend.security": {"runAsUser": 1000}},
        f"{NS}:backend.security.runAsUser = 1000: Input should be greater than or equal to 10001",
    ),
    "bad namespace name": (
        "dev",
        {"kubernetes.namespace": "Recon_NS"},
        f'{NS}:kubernetes.namespace = "Recon_NS": expected an RFC 1123 label: lower-case letters, digits and '
        "'-', 1-63 chars",
    ),
    "no ingress namespaces": (
        "dev",
        {"backend.networkPolicy.allowedNamespaces": []},
        f"{NS}:backend.networkPolicy.allowedNamespaces = []: List should have at least 1 item after validation, not 0",
    ),
    "bad env name": (
        "dev",
        {"backend.env": {"LOG-LEVEL": "x"}},
        f'{NS}:backend.env.LOG-LEVEL = "LOG-LEVEL": expected an environment variable name such as LOG_LEVEL',
    ),
    "production with one replica": (
        "prod",
        {"backend.autoscaling.minReplicas": 1, "backend.disruptionBudget": {"maxUnavailable": 1}},
        f"{NS}:backend.autoscaling.minReplicas = 1: production stacks need at least 2 replicas to survive a "
        "node drain or a crash",
    ),
    "production flag not a boolean": (
        "prod",
        {"production": "yes please"},
        f'{NS}:production = "yes please": expected true or false',
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


def test_all_problems_are_reported_together() -> None:
    lines = problems(
        run_changed(
            "prod",
            {
                "backend.autoscaling.minReplicas": 1,
                "backend.resources.requests.cpu": "500x",
                "backend.replicas": 2,
                "kubernetes.context": "",
            },
        )
    )
    assert len(lines) == 5
    assert any(line.startswith(f"{NS}:backend.resources.requests.cpu") for line in lines)
    assert any(line.startswith(f"{NS}:backend.replicas") for line in lines)
    assert any(line.startswith(f"{NS}:kubernetes.context") for line in lines)
    # minReplicas 1 with minAvailable 1 blocks drains: found in the same pass as the field errors.
    assert any(line.startswith(f"{NS}:backend.disruptionBudget.minAvailable = 1") for line in lines)
    assert any(line.startswith(f"{NS}:backend.autoscaling.minReplicas = 1: production") for line in lines)


def test_latest_is_allowed_outside_production() -> None:
    run = run_changed("dev", {"backend.image.tag": "latest"})
    deployment = run.execute().one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":latest")


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


def test_a_misspelled_namespace_is_not_ignored() -> None:
    config, secret_keys = stack_config("prod")
    config["reconcilation-platform:production"] = "false"
    lines = problems(StackRun("prod", config, secret_keys))
    assert lines == [
        "reconcilation-platform:production = ...: unknown config namespace 'reconcilation-platform'; allowed: "
        f"{NS}, pulumi (provider settings such as kubernetes:context are not read: this project's providers are "
        f"explicit, configured from {NS}:kubernetes)"
    ]


def test_default_provider_settings_are_refused_not_ignored() -> None:
    config, secret_keys = stack_config("prod")
    config["kubernetes:context"] = "someone-elses-cluster"
    (line,) = problems(StackRun("prod", config, secret_keys))
    assert line.startswith("kubernetes:context = ...: unknown config namespace 'kubernetes'")


def test_config_arrives_through_the_cli_environment_too() -> None:
    # The Pulumi CLI hands config to the program in PULUMI_CONFIG, not through set_all_config.
    config, _ = stack_config("dev")
    config[f"{NS}:kubeconfig"] = "apiVersion: v1\nkind: Config\n"
    environ = {"PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps([f"{NS}:kubeconfig"])}
    result = StackRun("dev", {}, [], environ).execute()
    written = stack_document("dev")[f"{NS}:kubernetes"]["context"]
    assert result.one("pulumi:providers:kubernetes").inputs["context"] == written
    environ["PULUMI_CONFIG_SECRET_KEYS"] = "[]"
    assert problems(StackRun("dev", {}, [], environ)) == [
        f"{NS}:kubeconfig = [not a secret]: must be set with `pulumi config set --secret kubeconfig`"
    ]
