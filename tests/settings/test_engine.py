"""How rules between settings run (settings/engine.py): each as soon as its own keys are valid,
reading the same values with or without the validated model."""

from __future__ import annotations

from helpers import changed, validated

from offline.harness import PROJECT
from settings.quantity import parse_quantity
from settings.stackfile import project_values


def test_a_field_error_never_hides_a_rule_in_the_same_section() -> None:
    prod = validated("prod")[0].backend
    _, problems = validated(
        "prod",
        {
            "backend.resources.requests.cpu": "500x",
            # Twice the stack's memory limit, in bytes: above it.
            "backend.resources.requests.memory": str(2 * int(parse_quantity(prod.resources.limits.memory))),
            "backend.autoscaling.targetCpuUtilization": 0,
            "backend.autoscaling.minReplicas": prod.autoscaling.max_replicas + 1,  # above maxReplicas
        },
    )
    keys = sorted(line.split(" = ")[0].removeprefix(f"{PROJECT}:") for line in problems)
    assert keys == [
        "backend.autoscaling.minReplicas",
        "backend.autoscaling.targetCpuUtilization",
        "backend.resources.requests.cpu",
        "backend.resources.requests.memory",
    ]


def test_rules_read_the_same_values_with_or_without_the_validated_model() -> None:
    # The engine reads pieces from the validated settings when there are any: both ways agree.
    from settings.engine import _attribute, _piece, at
    from settings.rules import RULES

    values, _ = project_values(changed("prod", {}), PROJECT)
    settings, _ = validated("prod")
    for paths, _check in RULES:
        for path in paths:
            if path != "@stack":
                assert _attribute(settings, at(path)) == _piece(values, at(path)), path
