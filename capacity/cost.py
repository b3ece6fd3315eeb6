"""What a stack reserves and costs, from its settings alone: requests times replicas at the
autoscaler's minimum and maximum, priced per month with the stack's unit prices."""

from __future__ import annotations

from settings.quantity import parse_quantity
from settings.stack import StackSettings

GIB = 1024**3
HOURS_PER_MONTH = 730  # 365 x 24 / 12


def reservation(settings: StackSettings) -> dict:
    """Reserved CPU (cores), memory and ephemeral storage (GiB) and the monthly cost (USD), at min and max."""
    requests, scaling = settings.backend.resources.requests, settings.backend.autoscaling
    prices = settings.capacity.prices
    per_pod = {
        "cpuCores": float(parse_quantity(requests.cpu)),
        "memoryGib": float(parse_quantity(requests.memory)) / GIB,
        "ephemeralStorageGib": float(parse_quantity(requests.ephemeral_storage)) / GIB,
    }
    hourly = (
        per_pod["cpuCores"] * prices.cpu_core_hour
        + per_pod["memoryGib"] * prices.memory_gib_hour
        + per_pod["ephemeralStorageGib"] * prices.ephemeral_storage_gib_hour
    )
    return {
        bound: {
            "replicas": replicas,
            **{key: round(value * replicas, 4) for key, value in per_pod.items()},
            "monthlyUsd": round(hourly * replicas * HOURS_PER_MONTH, 2),
        }
        for bound, replicas in (("min", scaling.min_replicas), ("max", scaling.max_replicas))
    }


def describe(reserved: dict) -> list[str]:
    """The summary's lines."""
    lines = []
    for bound in ("min", "max"):
        r = reserved[bound]
        pods = f"{r['replicas']} replica{'s' if r['replicas'] != 1 else ''}"
        lines.append(
            f"    at {bound} ({pods}): {r['cpuCores']:g} CPU cores, {r['memoryGib']:g} GiB memory, "
            f"{r['ephemeralStorageGib']:g} GiB ephemeral storage"
        )
    low, high = reserved["min"]["monthlyUsd"], reserved["max"]["monthlyUsd"]
    return [*lines, f"    monthly cost: ${low:,.2f} to ${high:,.2f} (requests at the stack's unit prices)"]
