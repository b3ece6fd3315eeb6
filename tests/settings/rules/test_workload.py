"""The rules that hold in every stack (settings/rules/workload.py), through the real program: one
clear line per problem, nothing registered."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DELETE, problems, run_changed, validated

from offline.harness import PROJECT

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES: dict[str, tuple[str, dict[str, Any], str]] = {
    "min above max replicas": (
        "dev",
        # Both bounds set here: the line names the ceiling, whatever dev's file says.
        {"backend.autoscaling.minReplicas": 5, "backend.autoscaling.maxReplicas": 3},
        f"{NS}:backend.autoscaling.minReplicas = 5: must not exceed autoscaling.maxReplicas (3)",
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
    "IfNotPresent without digest": (
        "dev",
        {"backend.image.pullPolicy": "IfNotPresent"},
        f'{NS}:backend.image.pullPolicy = "IfNotPresent": IfNotPresent needs image.digest (a tag can be '
        "re-pushed); use Always or pin a digest",
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
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "a selector on the release version": (
        {"backend.selector": {"app.kubernetes.io/version": "1.4.2"}},
        f'{NS}:backend.selector["app.kubernetes.io/version"] = "1.4.2": app.kubernetes.io/version changes with '
        "every release, and a Deployment's selector can never change",
    ),
    "a selector that contradicts a recommended label": (
        {"backend.selector": {"app.kubernetes.io/name": "api"}},
        f'{NS}:backend.selector["app.kubernetes.io/name"] = "api": the pods also carry app.kubernetes.io/name: '
        "backend (from backend.name and environment); they must agree",
    ),
    "adopting a namespace the stack does not declare": (
        {"kubernetes.createNamespace": False},
        f'{NS}:kubernetes.adopt = ["namespace", "deployment", "service", "horizontalPodAutoscaler", '
        '"podDisruptionBudget"]: adopting the Namespace needs createNamespace: true (otherwise the program does not '
        "declare it)",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(case: str) -> None:
    changes, expected = REFUSED[case]
    assert problems(run_changed("prod", changes)) == [expected]


def test_percentage_budgets_are_resolved_like_the_controller() -> None:
    two = {"backend.autoscaling.minReplicas": 2}  # the floor the percentages below are about
    _, problems = validated("prod", {**two, "backend.disruptionBudget": {"minAvailable": "50%"}})
    assert problems == []  # 50 % of 2 rounds up to 1: one pod may go
    _, problems = validated("prod", {**two, "backend.disruptionBudget": {"minAvailable": "60%"}})
    assert len(problems) == 1  # 60 % of 2 rounds up to 2: nothing may go
    assert problems[0].startswith(f'{PROJECT}:backend.disruptionBudget.minAvailable = "60%"')


def test_a_percentage_budget_rounds_up_like_the_disruption_controller() -> None:
    # 1% of one replica rounds up to one pod: drainable, so valid.
    assert validated("dev", {"backend.disruptionBudget.maxUnavailable": "1%"})[1] == []
