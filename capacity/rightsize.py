"""Requests recommended from recorded usage, explained, and written back into the stack file with
its comments and key order kept (ruamel.yaml's round trip), then validated by the settings layer."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

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
    cpu_m = max(10, _ceil(percentile(cpu, rules.cpu_percentile) / cpu_target * 1000 / 10) * 10)
    peak = max(memory)
    memory_mi = _ceil(max(peak * (1 + rules.memory_headroom), peak / memory_target) / MIB)
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


def _ceil(value: float) -> int:
    # Rounded to a millionth first: 70m over a 70 % target is 0.1 cores exactly, but
    # 0.07 / 0.7 == 0.10000000000000002 in floating point, which a plain ceil makes 110m.
    return math.ceil(round(value, 6))


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


def write(
    stack_file: Path, recommendations: list[Recommendation], project: str, validate: Callable[[], object]
) -> None:
    """Set the recommended requests in the stack file; restore it when the result does not validate.

    Only the two values' characters change: ruamel.yaml's dump would re-indent, re-wrap at its
    width and re-space the whole file (about 120 lines for two values), so the values are replaced
    where ruamel's parser found them (`.lc`), and the result is parsed again to check that nothing
    but those two values changed."""
    yaml = YAML()
    original = stack_file.read_text()
    document = yaml.load(original)
    try:
        requests = document["config"][f"{project}:backend"]["resources"]["requests"]
    except (KeyError, TypeError) as error:
        raise ValueError(f"{stack_file.name} sets no backend.resources.requests to update") from error
    lines = original.splitlines(keepends=True)
    wanted = {r.resource: r.recommended for r in recommendations}
    for resource in wanted:
        if resource not in requests:
            raise ValueError(f"{stack_file.name} sets no backend.resources.requests.{resource} to update")
    # Right to left: a value replaced first must not move another one on its line (the stack files
    # write the requests as one flow mapping, {cpu: 100m, memory: 128Mi, ...}: 100m -> 1000m moved
    # the memory value one column past where ruamel's parser of the original found it).
    for resource in sorted(wanted, key=lambda key: tuple(requests.lc.value(key)), reverse=True):
        value = wanted[resource]
        line, column = requests.lc.value(resource)
        text = lines[line]
        end = column + len(_scalar_text(text[column:]))
        if yaml.load(text[column:end]) != requests[resource]:
            raise ValueError(f"cannot find the value of requests.{resource} in line {line + 1} of {stack_file.name}")
        quote = text[column] if text[column] in "'\"" else ""
        lines[line] = f"{text[:column]}{quote}{value}{quote}{text[end:]}"
    edited = "".join(lines)
    expected = yaml.load(original)
    expected["config"][f"{project}:backend"]["resources"]["requests"].update(wanted)
    if _plain(yaml.load(edited)) != _plain(expected):
        raise ValueError(f"editing {stack_file.name} in place would change more than the requests")
    stack_file.write_text(edited)
    try:
        validate()
    except ValueError as error:
        stack_file.write_text(original)
        raise ValueError(f"the result does not validate:\n{error}") from error


def _scalar_text(rest: str) -> str:
    """The scalar that starts `rest` (the rest of its line): quoted, or plain up to a flow
    indicator, a comment or the line's end."""
    if rest[:1] in ("'", '"'):
        close = rest.find(rest[0], 1)
        return rest[: close + 1] if close > 0 else rest
    end = len(rest)
    for stop in (",", "}", "]", " #", "\n", "\r"):
        found = rest.find(stop)
        if found >= 0:
            end = min(end, found)
    return rest[:end].rstrip()


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts, lists and scalars, to compare documents."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
