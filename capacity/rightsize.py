"""Requests recommended from recorded usage, explained, and written back into the stack file with
its comments and key order kept (ruamel.yaml's round trip), then validated by the settings layer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from capacity.recorded import Usage, percentile
from settings.quantity import parse_quantity
from settings.stack import StackSettings

MIB = 1024 * 1024


@dataclass(frozen=True)
class Recommendation:
    resource: str  # cpu or memory
    current: str
    recommended: str
    explanation: str
    reserved_change_at_max: str  # what the change reserves (or frees) at maxReplicas


def recommend(settings: StackSettings, usage: Usage) -> list[Recommendation]:
    rules = settings.capacity.rightsizing
    cpu = [cores for by_pod in usage.cpu for cores in by_pod.values()]
    memory = [size for by_pod in usage.memory for size in by_pod.values()]
    window = f"{(usage.times[-1] - usage.times[0]) / 3600:.1f} h"
    if min(len(cpu), len(memory)) < rules.min_samples:
        raise ValueError(
            f"too little data to recommend from: {min(len(cpu), len(memory))} per-pod samples over {window}, "
            f"capacity.rightsizing.minSamples asks for {rules.min_samples}"
        )
    requests, replicas = settings.backend.resources.requests, settings.backend.autoscaling.max_replicas
    # The HPA holds usage near its target share of the request: a request at the usage itself would
    # shrink on every run. So: the percentile over the target, and a peak that stays under it.
    scaling = settings.backend.autoscaling
    cpu_target, memory_target = scaling.target_cpu_utilization / 100, scaling.target_memory_utilization / 100
    cpu_m = max(10, math.ceil(percentile(cpu, rules.cpu_percentile) / cpu_target * 1000 / 10) * 10)
    peak = max(memory)
    memory_mi = math.ceil(max(peak * (1 + rules.memory_headroom), peak / memory_target) / MIB)
    current_cpu_m = float(parse_quantity(requests.cpu)) * 1000
    current_mi = float(parse_quantity(requests.memory)) / MIB
    return [
        Recommendation(
            "cpu",
            requests.cpu,
            f"{cpu_m}m",
            f"p{rules.cpu_percentile * 100:g} of {len(cpu)} per-pod samples over {window} / the {cpu_target:.0%} "
            "target, rounded up to 10m",
            f"{(cpu_m - current_cpu_m) * replicas / 1000:+g} cores",
        ),
        Recommendation(
            "memory",
            requests.memory,
            f"{memory_mi}Mi",
            f"peak working set of {len(memory)} per-pod samples over {window} + {rules.memory_headroom:.0%} "
            f"headroom, at most {memory_target:.0%} of the request",
            f"{(memory_mi - current_mi) * replicas / 1024:+.2f} GiB",
        ),
    ]


def table(recommendations: list[Recommendation], max_replicas: int) -> str:
    lines = [
        f"| request | current | recommended | reserved at max ({max_replicas} replicas) | from |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r.resource} | {r.current} | {r.recommended} | {r.reserved_change_at_max} | {r.explanation} |"
        for r in recommendations
    ]
    return "\n".join(lines) + "\n"


def write(stack_file: Path, recommendations: list[Recommendation], project: str, validate) -> None:
    """Set the recommended requests in the stack file; restore it when the result does not validate."""
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: comments, key order and flow style stay as written
    yaml.preserve_quotes = True
    original = stack_file.read_text()
    document = yaml.load(original)
    requests = document["config"][f"{project}:backend"]["resources"]["requests"]
    for recommendation in recommendations:
        requests[recommendation.resource] = recommendation.recommended
    with stack_file.open("w") as handle:
        yaml.dump(document, handle)
    try:
        validate()
    except ValueError:
        stack_file.write_text(original)
        raise
