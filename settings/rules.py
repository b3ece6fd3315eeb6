"""Rules between settings, each run as soon as the fields it reads are valid on their own.

Each rule names the leaf keys it needs; each leaf is validated alone (its default when unset),
so a typo or a bad value elsewhere never hides a rule's finding: one run reports everything.
``@stack`` stands for the stack's name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, TypeAdapter, ValidationError

from settings.base import count_of, field_by_alias, model_in
from settings.quantity import parse_quantity
from settings.stack import StackSettings

STACK = "@stack"
MISSING = object()  # a Problem's value when the key is not set at all
INSTANCE_LABEL_LIMIT = 63


class Problem(NamedTuple):
    """One broken rule: the settings path it concerns, the value there, what is allowed."""

    path: tuple[str, ...]
    value: Any
    allowed: str


RULES: list[tuple[tuple[str, ...], Callable[..., list[Problem]]]] = []


def rule(*paths: str):
    def register(check: Callable[..., list[Problem]]) -> Callable[..., list[Problem]]:
        RULES.append((paths, check))
        return check

    return register


def _at(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _register_pairs() -> None:
    for amount in ("cpu", "memory", "ephemeralStorage"):
        request, limit = f"backend.resources.requests.{amount}", f"backend.resources.limits.{amount}"

        @rule(request, limit)
        def request_within_limit(req: str, lim: str, _path=request, _amount=amount) -> list[Problem]:
            if parse_quantity(req) <= parse_quantity(lim):
                return []
            return [Problem(_at(_path), req, f"must not exceed limits.{_amount} ({lim})")]

    for probe in ("startup", "readiness", "liveness"):
        timeout, period = f"backend.probes.{probe}.timeoutSeconds", f"backend.probes.{probe}.periodSeconds"

        @rule(timeout, period)
        def timeout_below_period(seconds: int, every: int, _path=timeout) -> list[Problem]:
            if seconds < every:
                return []
            return [Problem(_at(_path), seconds, f"must be less than periodSeconds ({every}) so probes never overlap")]


_register_pairs()


@rule("backend.image.tag", "backend.image.digest")
def image_is_pinned(tag: str | None, digest: str | None) -> list[Problem]:
    if tag is None and digest is None:
        return [
            Problem(_at("backend.image.tag"), MISSING, "set image.tag or image.digest (an untagged image is :latest)")
        ]
    return []


@rule("backend.image.pullPolicy", "backend.image.digest")
def cache_only_a_digest(policy: str, digest: str | None) -> list[Problem]:
    if policy == "IfNotPresent" and digest is None:
        allowed = "IfNotPresent needs image.digest (a tag can be re-pushed); use Always or pin a digest"
        return [Problem(_at("backend.image.pullPolicy"), policy, allowed)]
    return []


@rule("backend.termination.preStopSleepSeconds", "backend.termination.gracePeriodSeconds")
def prestop_leaves_time_to_stop(sleep: int, grace: int) -> list[Problem]:
    if sleep < grace:
        return []
    allowed = f"must be less than gracePeriodSeconds ({grace}), or the app gets no time to shut down"
    return [Problem(_at("backend.termination.preStopSleepSeconds"), sleep, allowed)]


@rule("backend.autoscaling.minReplicas", "backend.autoscaling.maxReplicas")
def min_within_max(minimum: int, maximum: int) -> list[Problem]:
    if minimum <= maximum:
        return []
    return [
        Problem(_at("backend.autoscaling.minReplicas"), minimum, f"must not exceed autoscaling.maxReplicas ({maximum})")
    ]


@rule("backend.rollout.maxSurge", "backend.rollout.maxUnavailable")
def rollout_can_progress(surge: int | str, unavailable: int | str) -> list[Problem]:
    if surge in (0, "0%") and unavailable in (0, "0%"):
        return [Problem(_at("backend.rollout.maxSurge"), surge, "maxSurge and maxUnavailable cannot both be 0")]
    return []


@rule(
    "backend.autoscaling.minReplicas",
    "backend.disruptionBudget.minAvailable",
    "backend.disruptionBudget.maxUnavailable",
)
def budget_allows_a_drain(
    floor: int, min_available: int | str | None, max_unavailable: int | str | None
) -> list[Problem]:
    where = _at("backend.disruptionBudget")
    if (min_available is None) == (max_unavailable is None):
        value = {"minAvailable": min_available, "maxUnavailable": max_unavailable}
        return [Problem(where, value, "set exactly one of minAvailable or maxUnavailable")]
    if min_available is not None and count_of(min_available, floor, round_up=True) >= floor:
        allowed = (
            f"must be below autoscaling.minReplicas ({floor}), or no pod may ever be evicted and node drains block"
        )
        return [Problem((*where, "minAvailable"), min_available, allowed)]
    if max_unavailable is not None and count_of(max_unavailable, floor, round_up=True) < 1:
        return [Problem((*where, "maxUnavailable"), max_unavailable, "must allow at least 1 pod: 0 blocks every drain")]
    return []


@rule("backend.tmpSizeLimit", "backend.resources.limits.ephemeralStorage")
def tmp_fits_in_ephemeral_storage(tmp_size: str, limit: str) -> list[Problem]:
    if parse_quantity(tmp_size) <= parse_quantity(limit):
        return []
    return [
        Problem(_at("backend.tmpSizeLimit"), tmp_size, f"must not exceed resources.limits.ephemeralStorage ({limit})")
    ]


@rule("environment", STACK)
def environment_is_the_stack(environment: str, stack: str) -> list[Problem]:
    if environment == stack:
        return []
    allowed = f"must equal the stack name '{stack}' (a copied stack file must not pose as another environment)"
    return [Problem(("environment",), environment, allowed)]


@rule("environment", "backend.name")
def instance_label_fits(environment: str, name: str) -> list[Problem]:
    instance = f"{name}-{environment}"
    if len(instance) <= INSTANCE_LABEL_LIMIT:
        return []
    allowed = (
        f"'{instance}' (name-environment) is the app.kubernetes.io/instance label, at most "
        f"{INSTANCE_LABEL_LIMIT} chars (is {len(instance)})"
    )
    return [Problem(_at("backend.name"), name, allowed)]


@rule("production", "backend.image.tag")
def production_pins_its_image(production: bool, tag: str | None) -> list[Problem]:
    if production and tag == "latest":
        allowed = "production stacks refuse the tag latest; pin a release tag (a digest alone is fine)"
        return [Problem(_at("backend.image.tag"), tag, allowed)]
    return []


@rule(
    "production",
    "backend.autoscaling.minReplicas",
    "backend.disruptionBudget.minAvailable",
    "backend.disruptionBudget.maxUnavailable",
)
def production_stays_available(production: bool, floor: int, min_available: Any, max_unavailable: Any) -> list[Problem]:
    if not production:
        return []
    if floor < 2:
        allowed = "production stacks need at least 2 replicas to survive a node drain or a crash"
        return [Problem(_at("backend.autoscaling.minReplicas"), floor, allowed)]
    where = _at("backend.disruptionBudget")
    if min_available is not None and count_of(min_available, floor, round_up=True) < 1:
        return [Problem((*where, "minAvailable"), min_available, "production budgets must keep at least 1 pod running")]
    if max_unavailable is not None and count_of(max_unavailable, floor, round_up=True) >= floor:
        allowed = f"must be below autoscaling.minReplicas ({floor}) in production, or a drain may evict every pod"
        return [Problem((*where, "maxUnavailable"), max_unavailable, allowed)]
    return []


@rule("production", "backend.topologySpread")
def production_spreads(production: bool, spreads: tuple) -> list[Problem]:
    keys = sorted(spread.topology_key for spread in spreads)
    needed = ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    if not production or keys == needed:
        return []
    allowed = "production stacks spread over both topology.kubernetes.io/zone and kubernetes.io/hostname"
    return [Problem(_at("backend.topologySpread"), keys, allowed)]


class _InvalidPieceError(Exception):
    """The piece is missing or invalid: its field error is reported already."""


def cross_field_problems(values: dict, stack: str) -> list[Problem]:
    found = []
    for paths, check in RULES:
        try:
            pieces = [stack if path == STACK else _piece(values, _at(path)) for path in paths]
        except _InvalidPieceError:
            continue
        found += check(*pieces)
    return found


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
def _adapter(path: tuple[str, ...]) -> TypeAdapter:
    model: Any = StackSettings
    field = None
    for part in path:
        field = field_by_alias(model, part)
        model = model_in(field.annotation)
    # Field constraints (ge=1, min_length=1) live in metadata; put them back on the type.
    return TypeAdapter(Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation)
