"""Read the stack's config under the project namespace; stop the program if any of it is wrong.

Every problem is reported together, one line each, and raised as ``pulumi.RunError`` (which
Pulumi prints without a traceback) before a single resource is registered.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from settings.environment import ambient_problems
from settings.report import OTHER_NAMESPACES, SCALAR_KEYS, validate
from settings.stack import StackSettings


def read_project_config(project: str) -> tuple[dict[str, Any], set[str], tuple[str, ...]]:
    """The project's config as {key: decoded value}, which of those keys are secret, and the
    keys of namespaces nobody reads (a misspelled project name would otherwise be ignored).

    Pulumi has no public call that lists config keys; the language host hands them over in
    PULUMI_CONFIG and the mock runtime in ``set_all_config``, so both are read.
    """
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = set(runtime_config.get_config_secret_keys_env())
    prefix = f"{project}:"
    values, secret_keys, stray = {}, set(), []
    for full_key, raw in sorted(merged.items()):
        if not full_key.startswith(prefix):
            if full_key.split(":")[0] not in OTHER_NAMESPACES:
                stray.append(full_key)
            continue  # pulumi: and provider namespaces are theirs to read
        key = full_key[len(prefix) :]
        values[key] = raw if key in SCALAR_KEYS else _decode(raw)
        if full_key in secret or runtime_config.is_config_secret(full_key):
            secret_keys.add(key)
    return values, secret_keys, tuple(stray)


def _decode(raw: Any) -> Any:
    # Structured values reach the program as JSON text; scalars stay text for pydantic to coerce.
    if isinstance(raw, str) and raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def load_settings() -> StackSettings:
    project = pulumi.get_project()
    values, secret_keys, stray = read_project_config(project)
    settings, lines = validate(values, secret_keys, project, pulumi.get_stack(), stray)
    lines += ambient_problems(os.environ)
    if lines:
        count = f"{len(lines)} problem" + ("s" if len(lines) > 1 else "")
        header = f"invalid configuration for stack '{pulumi.get_stack()}' ({count}):"
        raise pulumi.RunError("\n".join([header, *(f"  - {line}" for line in lines)]))
    assert settings is not None  # validate returns None only with problems
    return settings
