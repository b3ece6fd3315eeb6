"""Validate raw stack config and describe every problem on one line, without Pulumi.

A line names the full config key, the value (``[secret]`` for a secret key) and what is allowed:
``reconciliation-platform:backend.autoscaling.minReplicas = 5: must not exceed ...``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from settings.base import field_by_alias, model_in
from settings.engine import MISSING, cross_field_problems
from settings.rules import RULES
from settings.stack import StackSettings

SECRET_KEYS = ("kubeconfig", "grafanaAuth", "grafanaSlackUrl", "grafanaPagerdutyKey")
# The one other namespace a stack file may use: Pulumi's own (pulumi:disable-default-providers).
# Provider namespaces (kubernetes:context, ...) only configure default providers, which this
# project disables, so a value there would be silently ignored.
OTHER_NAMESPACES = ("pulumi",)
# Top-level keys holding text or a flag: never decoded from JSON, so a kubeconfig written as
# JSON stays the text it is. Every other key (objects, and unknown keys for their message) is.
SCALAR_KEYS = tuple(field.alias for field in StackSettings.model_fields.values() if model_in(field.annotation) is None)
# pydantic's wording for type errors, rewritten to say what is allowed.
_MESSAGES = {
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "string_type": "expected a string",
    "model_type": "expected a mapping of keys (see docs/settings.md)",
    "model_attributes_type": "expected a mapping of keys (see docs/settings.md)",
    "dict_type": "expected a mapping",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
}


def validate(
    values: dict, secret_keys: set[str], namespace: str, stack: str, stray_keys: tuple[str, ...] = ()
) -> tuple[StackSettings | None, list[str]]:
    """The settings, or None with every problem found in one pass."""
    lines = [
        f"{key} = ...: unknown config namespace '{key.split(':')[0]}'; allowed: {namespace}, "
        f"{', '.join(OTHER_NAMESPACES)} (provider settings such as kubernetes:context are not read: this "
        f"project's providers are explicit, configured from {namespace}:kubernetes)"
        for key in stray_keys
    ]
    for key in sorted(secret_keys):
        if key not in SECRET_KEYS:
            lines.append(
                f"{namespace}:{key} = [secret]: only {', '.join(SECRET_KEYS)} may be Pulumi secrets; "
                "application secrets belong in AWS Secrets Manager (synced by External Secrets), not in stack config"
            )
    lines += [
        f"{namespace}:{key} = [not a secret]: must be set with `pulumi config set --secret {key}`"
        for key in SECRET_KEYS
        if key in values and key not in secret_keys
    ]
    settings = None
    try:
        settings = StackSettings.model_validate(values)
    except ValidationError as error:
        lines += format_errors(error, namespace, secret_keys)
    lines += [
        _line(namespace, problem.path, problem.value, problem.allowed, problem.path[0] in secret_keys)
        for problem in cross_field_problems(RULES, values, stack, settings)
    ]
    return (None, lines) if lines else (settings, [])


def format_errors(error: ValidationError, namespace: str, secret_keys: set[str]) -> list[str]:
    lines = []
    items = error.errors(include_url=False)
    for item in items:
        loc = tuple(item["loc"])
        if item["type"] == "too_short" and any(
            tuple(other["loc"])[: len(loc)] == loc != tuple(other["loc"]) for other in items
        ):
            continue  # "at least 1 item" only because the one given was invalid: that line says why
        hidden = bool(loc) and loc[0] in secret_keys
        if item["type"] == "missing":
            lines.append(_line(namespace, loc, MISSING, "required key is missing", hidden))
        elif item["type"] == "extra_forbidden":
            allowed = f"unknown key; allowed keys: {', '.join(allowed_keys(StackSettings, loc[:-1]))}"
            if "." in str(loc[-1]):
                allowed += " (nested keys are set with `pulumi config set --path`)"
            lines.append(_line(namespace, loc, item["input"], allowed, hidden))
        else:
            message = _MESSAGES.get(item["type"]) or item["msg"].removeprefix("Value error, ")
            # Settings are YAML: a user writes lists, never tuples.
            lines.append(_line(namespace, loc, item["input"], message.replace("Tuple should", "List should"), hidden))
    return lines


def _line(namespace: str, loc: tuple, value: Any, allowed: str, hidden: bool) -> str:
    key = f"{namespace}:{loc[0]}"
    for part in loc[1:]:
        if part == "[key]":
            continue  # pydantic's marker for "the key itself", already named by the previous part
        if isinstance(part, int):
            key += f"[{part}]"
        else:  # a key that itself contains a dot (set without --path) is quoted, not read as a path
            key += f'["{part}"]' if "." in part else f".{part}"
    shown = "(not set)" if value is MISSING else json.dumps(value, default=str)
    if hidden:
        shown = "[secret]"
    return f"{key} = {shown}: {allowed}"


def allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a (nested) settings object accepts, for the 'unknown key' message."""
    for part in loc:
        if not isinstance(part, int):
            model = model_in(field_by_alias(model, part).annotation)
    return sorted(field.alias for field in model.model_fields.values())
