"""Helpers the tests import: config changes by dotted path, settings that must validate, required
external tools, the shell a provider SDK would read, and the checks several test files share."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
import pytest
from tool_results import run_kept

from offline.harness import (
    PROJECT,
    Registration,
    RunResult,
    StackRun,
    run_stack,
    stack_config,
    stack_document,
    to_wire,
)
from policy.guardrails import broad_grants
from settings.stackfile import project_values

DELETE = object()  # a change that removes the key
# The capacity proposal's autoscaling behavior, which is also the settings' documented default.
SPREAD = "backend.topologySpread"
ZONE, HOST = "topology.kubernetes.io/zone", "kubernetes.io/hostname"
# The counts the spreading and release cases are about, set by each case itself (not read from
# prod's file, whose sizing is its own to change): from 2 to 10 replicas, a budget keeping 1.
PROPOSAL_SCALE = {
    "backend.autoscaling.minReplicas": 2,
    "backend.autoscaling.maxReplicas": 10,
    "backend.disruptionBudget": {"minAvailable": 1},
}
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


# One program run per worker per distinct input, shared by every test that only reads it.
_RUNS: dict[tuple, RunResult] = {}


def _run_key(stack: str, config: dict[str, str], secret_keys: list[str]) -> tuple:
    """Everything a run reads that may differ within a session: the config and its secret keys,
    the shell (the SDKs' fallbacks, PULUMI_CONFIG: a monkeypatched variable is another run), and
    the clock at the grain the program reads it (the day for overdue secrets; the UTC hour, as a
    reminder starts at midnight UTC and counts as started from an hour before)."""
    shell = tuple(sorted((k, v) for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"))
    clock = (date.today().isoformat(), datetime.now(UTC).strftime("%Y-%m-%dT%H"))
    return stack, json.dumps(config, sort_keys=True), tuple(sorted(secret_keys)), shell, clock


def shared_run_stack(
    stack: str, config: dict[str, str] | None = None, secret_keys: list[str] | None = None
) -> RunResult:
    """``run_stack``, run once per worker per distinct input (``_run_key``) and shared: for tests,
    and the CLIs the tests point at it, that only read the result. Never where a test changes what
    the program reads in another way (a monkeypatched module, ``pulumi.log``, time_machine), nor
    for a result the test then changes."""
    if config is None:
        config, secret_keys = stack_config(stack)
    key = _run_key(stack, config, secret_keys or [])
    if key not in _RUNS:
        _RUNS[key] = run_stack(stack, config, secret_keys)
    return _RUNS[key]


def shared_run(stack: str, changes: dict[str, Any] | None = None) -> RunResult:
    """The shared run (``shared_run_stack``) of the stack file with dotted-path ``changes``."""
    return shared_run_stack(stack, *to_wire(changed(stack, changes or {})))


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


def json_schema_check(schema: str, folder: Path, *files: Path) -> subprocess.CompletedProcess:
    """check-jsonschema's builtin ``schema`` (shipped in its venv) over copies of ``files`` in the new
    ``folder``, all it reads besides: kept by their content, the command and the venv's packages
    (tests/tool_results.py)."""
    tool = required_tool("check-jsonschema", Path(sys.executable).parent / "check-jsonschema")
    folder.mkdir()
    for file in files:
        shutil.copyfile(file, folder / file.name)
    command = [tool, "--builtin-schema", schema, *(file.name for file in files)]
    return run_kept(command, folder, Path(tool).resolve().parents[1], environ={})


def validated(stack: str, changes: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
    """The stack file (with changes) through the pure settings layer: (settings or None, problems)."""
    from settings.report import validate

    values, secret_keys = project_values(changed(stack, changes or {}), PROJECT)
    return validate(values, secret_keys, PROJECT, stack)


def valid_settings(stack: str, changes: dict[str, Any] | None = None) -> Any:
    """The stack's settings with ``changes``, which must validate."""
    settings, found = validated(stack, changes)
    assert found == []
    return settings


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


def refused(stack: str, changes: dict[str, Any]) -> list[str]:
    """``problems`` of ``stack`` with ``changes``; a value written "DELETE" (as the tests' tables
    write it) removes the key."""
    return problems(run_changed(stack, {key: DELETE if value == "DELETE" else value for key, value in changes.items()}))


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


# What a token or a client certificate is: credentials may come from the shell, nothing else.
CREDENTIALS = re.compile(r"AUTH|TOKEN|TLS_CERT|TLS_KEY")


def sdk_environment_fallbacks(provider_module: ModuleType) -> dict[str, str]:
    """{camelCase input: variable} for every Provider input the SDK (its ``provider`` module) fills
    from the environment, read from the installed SDK's source, so a fallback added by an SDK
    upgrade is covered too."""
    assert provider_module.__file__ is not None, f"{provider_module.__name__} is not a module of a file"
    source = Path(provider_module.__file__).read_text()
    pairs = dict.fromkeys(re.findall(r"if (\w+) is None:\s+\1 = _utilities\.get_env\w*\('(\w+)'", source))
    assert pairs, "the SDK's environment fallbacks were not found: has provider.py changed shape?"
    return {re.sub(r"_(\w)", lambda m: m[1].upper(), name): variable for name, variable in pairs}


def grafana_placements() -> dict[str, str]:
    """The Grafana SDK's environment fallbacks that are no credential: where and how it deploys."""
    import pulumiverse_grafana.provider

    fallbacks = sdk_environment_fallbacks(pulumiverse_grafana.provider)
    return {name: variable for name, variable in fallbacks.items() if not CREDENTIALS.search(variable)}


def hostile_shell(provider: str) -> dict[str, str]:
    """The operator's shell at its worst for ``provider`` ("kubernetes" or "grafana"): every variable
    its SDK reads, set to what would hurt (each switch flipped, a local path, another Grafana; and,
    for Grafana, a token, the one credential it may take)."""
    if provider == "kubernetes":
        import pulumi_kubernetes.provider

        environ = dict.fromkeys(sdk_environment_fallbacks(pulumi_kubernetes.provider).values(), "true")
        environ["PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY"] = "false"
        environ["KUBECONFIG"] = "/home/alice/.kube/config"
        return environ
    assert provider == "grafana", provider
    environ = dict.fromkeys(grafana_placements().values(), "https://grafana.attacker.example")
    environ |= {"GRAFANA_INSECURE_SKIP_VERIFY": "true", "GRAFANA_RETRIES": "0", "GRAFANA_RETRY_WAIT": "0"}
    environ |= {"GRAFANA_STORE_DASHBOARD_SHA256": "true", "GRAFANA_ORG_ID": "7", "GRAFANA_HTTP_HEADERS": "{}"}
    environ |= {"GRAFANA_AUTH": "glsa_hunter2"}  # a credential: allowed
    return environ


def identity_policy_problems(document: dict) -> list[str]:
    """What least privilege refuses in an identity policy, as the policy pack judges it."""
    return [str(grant) for grant in broad_grants(document)]


def trust_problems(document: dict, issuer: str, subject: str) -> list[str]:
    (statement,) = document["Statement"]
    condition = statement.get("Condition", {}).get("StringEquals", {})
    found = []
    if condition.get(f"{issuer}:aud") != "sts.amazonaws.com":
        found.append("no aud condition")
    if condition.get(f"{issuer}:sub") != subject:
        found.append("no sub condition for exactly the reader ServiceAccount")
    return found


def external_secret(result: RunResult, name: str = "reconciliation-secrets") -> Registration:
    """The ExternalSecret ``name`` among the run's registrations."""
    (found,) = [
        r
        for r in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if r.inputs["metadata"]["name"] == name
    ]
    return found
