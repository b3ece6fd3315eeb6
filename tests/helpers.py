"""Helpers the tests import: config changes by dotted path, and required external tools."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest

from offline.harness import PROJECT, StackRun, stack_document, to_wire
from settings.stackfile import project_values

DELETE = object()  # a change that removes the key
# The capacity proposal's autoscaling behavior, which is also the settings' documented default.
PROPOSAL_BEHAVIOR = {
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    },
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 30},
            {"type": "Pods", "value": 2, "periodSeconds": 30},
        ],
    },
}


def changed(stack: str, changes: dict[str, Any]) -> dict:
    """The stack file's config with dotted-path changes, e.g. {"backend.port": 80}."""
    document = copy.deepcopy(stack_document(stack))
    for path, value in changes.items():
        top, *rest = path.split(".")
        key = f"{PROJECT}:{top}"
        if not rest:
            if value is DELETE:
                document.pop(key, None)
            else:
                document[key] = value
            continue
        node = document.setdefault(key, {})
        for part in rest[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if value is DELETE:
            node.pop(rest[-1], None)
        else:
            node[rest[-1]] = value
    return document


def run_changed(stack: str, changes: dict[str, Any]) -> StackRun:
    """A StackRun over the changed config, not yet executed."""
    return StackRun(stack, *to_wire(changed(stack, changes)))


def required_tool(name: str, *candidates: Path) -> str:
    """The tool's path; fails (in CI) or skips (on a laptop without it) when it is missing."""
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed: run ./tasks.sh test, which installs it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
    return ""


def validated(stack: str, changes: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    """The stack file (with changes) through the pure settings layer: (settings or None, problems)."""
    from settings.report import validate

    values, secret_keys = project_values(changed(stack, changes or {}), PROJECT)
    return validate(values, secret_keys, PROJECT, stack)


def problems(run: StackRun) -> list[str]:
    """The program's validation lines for ``run``, after checking it stopped the way it must:
    a ``pulumi.RunError`` with a counted header, one line per problem, nothing registered."""
    with pytest.raises(pulumi.RunError) as caught:
        run.execute()
    header, *lines = str(caught.value).splitlines()
    count = len(lines)
    assert header == f"invalid configuration for stack '{run.stack}' ({count} problem{'s' if count > 1 else ''}):"
    assert all(line.startswith("  - ") for line in lines)
    # Rejected before the provider or any other resource was registered.
    assert run.registrations == []
    return [line[4:] for line in lines]


GIB = 1024**3
HOURS_PER_MONTH = 730  # 365 x 24 / 12, as capacity/cost.py prices a month


def reserved(settings: Any, bound: str) -> dict:
    """What the stack reserves at the autoscaler's ``bound`` ("min" or "max"), restated here from the
    settings (requests x replicas, priced per month) so cost tests do not call capacity/cost.py."""
    from settings.quantity import parse_quantity

    requests, prices = settings.backend.resources.requests, settings.capacity.prices
    replicas = getattr(settings.backend.autoscaling, f"{bound}_replicas")
    cpu = float(parse_quantity(requests.cpu))
    memory = float(parse_quantity(requests.memory)) / GIB
    storage = float(parse_quantity(requests.ephemeral_storage)) / GIB
    hourly = cpu * prices.cpu_core_hour + memory * prices.memory_gib_hour + storage * prices.ephemeral_storage_gib_hour
    return {
        "replicas": replicas,
        "cpuCores": round(cpu * replicas, 4),
        "memoryGib": round(memory * replicas, 4),
        "monthlyUsd": round(hourly * replicas * HOURS_PER_MONTH, 2),
    }
