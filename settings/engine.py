"""The machinery of rules between settings: each runs as soon as the fields it reads are valid.

Each rule names the leaf keys it needs; each leaf is validated alone (its default when unset),
so a typo or a bad value elsewhere never hides a rule's finding: one run reports everything.
``@stack`` stands for the stack's name. The rules themselves live in the ``settings.rules``
package, one module per topic, which lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from settings.base import field_by_alias, model_in
from settings.stack import StackSettings

STACK = "@stack"
MISSING = object()  # a Problem's value when the key is not set at all


class Problem(NamedTuple):
    """One broken rule: the settings path it concerns, the value there, what is allowed."""

    path: tuple[str | int, ...]  # keys, and the index of a list's item
    value: Any
    allowed: str


Rule = tuple[tuple[str, ...], Callable[..., list[Problem]]]
Check = TypeVar("Check", bound=Callable[..., list[Problem]])


def rule(*paths: str) -> Callable[[Check], Check]:
    """Mark a check as a rule over the settings at ``paths`` (``settings.rules`` lists them)."""

    def mark(check: Check) -> Check:
        check.rule_paths = paths  # type: ignore[attr-defined]
        return check

    return mark


def rules_in(*modules: Any) -> list[Rule]:
    """Every rule the modules define, module by module in the order given, each in its own order:
    its functions marked ``@rule``, and the rules in its module-level lists (rules it makes in a
    loop, one per key)."""
    found: list[Rule] = []
    for module in modules:
        for value in vars(module).values():
            made = value if isinstance(value, list) else [value]
            found += [
                (check.rule_paths, check)
                for check in made
                if hasattr(check, "rule_paths") and getattr(check, "__module__", None) == module.__name__
            ]
    return found


def at(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


class _InvalidPieceError(Exception):
    """The piece is missing or invalid: its field error is reported already."""


def cross_field_problems(
    rules: list[Rule], values: dict, stack: str, settings: StackSettings | None = None
) -> list[Problem]:
    """Every rule's problems. With ``settings`` (the whole config validated) the pieces are read
    from it; without, each is validated on its own from ``values``."""
    found = []
    for paths, check in rules:
        try:
            pieces = [
                stack if path == STACK else _attribute(settings, at(path)) if settings else _piece(values, at(path))
                for path in paths
            ]
        except _InvalidPieceError:
            continue
        found += check(*pieces)
    return found


def _attribute(settings: StackSettings, path: tuple[str, ...]) -> Any:
    node: Any = settings
    for part in path:
        model: type[BaseModel] = type(node)
        node = getattr(node, _name_of(model, part))
    return node


@cache
def _name_of(model: type[BaseModel], alias: str) -> str:
    return next(name for name, field in model.model_fields.items() if field.alias == alias)


def _piece(values: dict, path: tuple[str, ...]) -> Any:
    """The validated value at ``path``, its default where unset, or _InvalidPieceError."""
    node: Any = values
    model: Any = StackSettings
    for part in path:
        field = field_by_alias(model, part)
        if not isinstance(node, dict) or field is None:
            raise _InvalidPieceError
        if part in node:
            node = node[part]
        elif field.is_required():
            raise _InvalidPieceError
        else:
            default = field.get_default(call_default_factory=True)
            node = default.model_dump(by_alias=True) if isinstance(default, BaseModel) else default
        model = model_in(field.annotation)
    try:
        return _adapter(path).validate_python(node)
    except ValidationError as error:
        raise _InvalidPieceError from error


@cache
def _adapter(path: tuple[str, ...]) -> Any:
    # Imported here: only a stack with an invalid key needs leaf-by-leaf validation.
    from pydantic import TypeAdapter  # noqa: PLC0415

    model: Any = StackSettings
    field: Any = None
    for part in path:
        field = field_by_alias(model, part)
        model = model_in(field.annotation)
    # Field constraints (ge=1, min_length=1) live in metadata; put them back on the type.
    annotation = field.annotation
    if field.metadata:
        annotation = Annotated[annotation, *field.metadata]
    return TypeAdapter(annotation)
