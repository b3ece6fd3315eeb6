"""What a stack reserves and costs (capacity/cost.py), from the settings alone."""

from __future__ import annotations

import pytest
from helpers import valid_settings


def _sized(low: int, high: int, cpu: str, memory: str) -> dict:
    """A pod's requests (storage as memory), the replica range, and the default prices, pinned."""
    return {
        "backend.resources": {
            "requests": {"cpu": cpu, "memory": memory, "ephemeralStorage": memory},
            "limits": {"cpu": "1", "memory": "1Gi", "ephemeralStorage": "1Gi"},
        },
        "backend.autoscaling.minReplicas": low,
        "backend.autoscaling.maxReplicas": high,
        "capacity.prices": {"cpuCoreHour": 0.04048, "memoryGibHour": 0.004445, "ephemeralStorageGibHour": 0.000111},
    }


@pytest.mark.parametrize(
    ("stack_name", "sizing", "low", "high"),
    [
        # 1-3 x (100m, 128Mi, 128Mi): 0.1 x 0.04048 + 0.125 x 0.004445 + 0.125 x 0.000111 per hour.
        (
            "dev",
            _sized(1, 3, "100m", "128Mi"),
            {"replicas": 1, "cpuCores": 0.1, "memoryGib": 0.125, "monthlyUsd": 3.37},
            10.11,
        ),
        # 2-10 x (200m, 256Mi, 256Mi): $0.0092350 per pod-hour, 730 hours a month.
        (
            "prod",
            _sized(2, 10, "200m", "256Mi"),
            {"replicas": 2, "cpuCores": 0.4, "memoryGib": 0.5, "monthlyUsd": 13.48},
            67.42,
        ),
    ],
)
def test_reserved_capacity_and_cost_from_the_settings_alone(
    stack_name: str, sizing: dict, low: dict, high: float
) -> None:
    from capacity.cost import reservation

    reserved = reservation(valid_settings(stack_name, sizing))
    assert {key: reserved["min"][key] for key in low} == low
    assert reserved["max"]["monthlyUsd"] == high
