"""Validate raw stack config and describe every problem on one line, without Pulumi.

A line names the full config key, the value (``[secret]`` for a secret key) and what is allowed:
``reconciliation-platform:backend.autoscaling.minReplicas = 5: must not exceed ...``.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from settings.rules import cross_section_problems
from settings.stack import StackSettings

SECRET_KEYS = ("kubeconfig",)


def validate(values: dict, secret_keys: set[str], namespace: str) -> tuple[StackSettings | None, list[str]]:
    """The settings, or None with every problem found in one pass."""
    lines = [
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
        for problem in cross_section_problems(values)
    ]
    return (None, lines) if lines else (settings, [])


def format_errors(error: ValidationError, namespace: str, secret_keys: set[str]) -> list[str]:
    lines = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        hidden = bool(loc) and loc[0] in secret_keys
        if item["type"] == "cross_field":
            for problem in item["ctx"]["problems"]:
                lines.append(_line(namespace, loc + problem.path, problem.value, problem.allowed, hidden))
        elif item["type"] == "missing":
            lines.append(_line(namespace, loc, None, "required key is missing", hidden))
        elif item["type"] == "extra_forbidden":
            allowed = ", ".join(allowed_keys(StackSettings, loc[:-1]))
            lines.append(_line(namespace, loc, item["input"], f"unknown key; allowed keys: {allowed}", hidden))
        else:
            # Settings are YAML: a user writes lists, never tuples.
            message = item["msg"].removeprefix("Value error, ").replace("Tuple should", "List should")
            lines.append(_line(namespace, loc, item["input"], message, hidden))
    return lines


def _line(namespace: str, loc: tuple, value: Any, allowed: str, hidden: bool) -> str:
    key = f"{namespace}:{loc[0]}"
    for part in loc[1:]:
        if part == "[key]":
            continue  # pydantic's marker for "the key itself", already named by the previous part
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    shown = "[secret]" if hidden else ("(not set)" if value is None else json.dumps(value, default=str))
    return f"{key} = {shown}: {allowed}"


def allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a (nested) settings object accepts, for the 'unknown key' message."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = next(f for f in model.model_fields.values() if f.alias == part)
        model = _model_in(field.annotation)
    return sorted(field.alias for field in model.model_fields.values())


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
