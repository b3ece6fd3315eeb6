"""Replica count and availability settings (settings/scaling.py): the HPA's bounds, targets and
policies, the rollout, and the documented default behaviour."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import PROPOSAL_BEHAVIOR, problems, run_changed

from settings.scaling import Autoscaling

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES: dict[str, tuple[str, dict[str, Any], str]] = {
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
    "bad surge percentage": (
        "dev",
        {"backend.rollout.maxSurge": "150%"},
        f'{NS}:backend.rollout.maxSurge = "150%": expected a whole number >= 0 or a percentage from 0% to 100%, '
        "such as 1 or 25%",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


def test_defaults_are_the_proposal_behavior() -> None:
    scaling = Autoscaling.model_validate(
        {"minReplicas": 2, "maxReplicas": 10, "targetCpuUtilization": 70, "targetMemoryUtilization": 80}
    )
    # The capacity proposal's behavior (helpers.PROPOSAL_BEHAVIOR, which the wire tests expect too).
    assert scaling.behavior.model_dump(by_alias=True, mode="json") == PROPOSAL_BEHAVIOR
