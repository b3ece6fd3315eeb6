"""Rules that span settings sections, run on every section that is valid on its own.

They live outside the models on purpose: a model's own validator runs only once all its fields
are valid, so a typo elsewhere in ``backend`` would hide a PodDisruptionBudget that blocks
drains until the next run. Here each rule needs only the pieces it reads, so one run reports
every problem.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from settings.base import Problem, count_of
from settings.quantity import parse_quantity
from settings.scaling import Autoscaling, DisruptionBudget
from settings.stack import StackSettings
from settings.workload import Image, Resources

Path = tuple[str, ...]
RULES: list[tuple[tuple[Path, ...], Callable[..., list[Problem]]]] = []


def rule(*paths: Path):
    def register(check: Callable[..., list[Problem]]) -> Callable[..., list[Problem]]:
        RULES.append((paths, check))
        return check

    return register


@rule(("backend", "autoscaling"), ("backend", "disruptionBudget"))
def budget_allows_a_drain(scaling: Autoscaling, budget: DisruptionBudget) -> list[Problem]:
    minimum = scaling.min_replicas
    if budget.min_available is None or count_of(budget.min_available, minimum, round_up=True) < minimum:
        return []
    return [
        Problem(
            ("backend", "disruptionBudget", "minAvailable"),
            budget.min_available,
            f"must be below autoscaling.minReplicas ({minimum}), or no pod may ever be evicted and node drains block",
        )
    ]


@rule(("backend", "tmpSizeLimit"), ("backend", "resources"))
def tmp_fits_in_ephemeral_storage(tmp_size: str, resources: Resources) -> list[Problem]:
    limit = resources.limits.ephemeral_storage
    if parse_quantity(tmp_size) <= parse_quantity(limit):
        return []
    return [
        Problem(("backend", "tmpSizeLimit"), tmp_size, f"must not exceed resources.limits.ephemeralStorage ({limit})")
    ]


@rule(("production",), ("backend", "image"))
def production_pins_its_image(production: bool, image: Image) -> list[Problem]:
    if production and image.tag == "latest":
        return [Problem(("backend", "image", "tag"), image.tag, "production stacks need a pinned tag or digest")]
    return []


@rule(("production",), ("backend", "autoscaling"))
def production_survives_a_drain(production: bool, scaling: Autoscaling) -> list[Problem]:
    if production and scaling.min_replicas < 2:
        return [
            Problem(
                ("backend", "autoscaling", "minReplicas"),
                scaling.min_replicas,
                "production stacks need at least 2 replicas to survive a node drain or a crash",
            )
        ]
    return []


class _InvalidPieceError(Exception):
    """The piece is missing or invalid: its field error is reported already."""


def cross_section_problems(values: dict) -> list[Problem]:
    found = []
    for paths, check in RULES:
        try:
            pieces = [_piece(values, path) for path in paths]
        except _InvalidPieceError:
            continue
        found += check(*pieces)
    return found


def _piece(values: dict, path: Path) -> Any:
    model: type[BaseModel] = StackSettings
    node: Any = values
    for depth, part in enumerate(path):
        field = next((f for f in model.model_fields.values() if f.alias == part), None)
        if field is None or not isinstance(node, dict):
            raise _InvalidPieceError
        if part not in node:
            if field.is_required():
                raise _InvalidPieceError
            return field.get_default(call_default_factory=True)
        node = node[part]
        if depth < len(path) - 1:
            model = field.annotation
    try:
        return _adapter(path).validate_python(node)
    except ValidationError as error:
        raise _InvalidPieceError from error


@cache
def _adapter(path: Path) -> TypeAdapter:
    model: Any = StackSettings
    for part in path:
        field = next(f for f in model.model_fields.values() if f.alias == part)
        model = field.annotation
    return TypeAdapter(Annotated[model, *field.metadata] if field.metadata else model)
