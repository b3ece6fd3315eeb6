"""Rules between settings keys that hold in every stack (see ``settings.engine`` for how they run)."""

from __future__ import annotations

from collections.abc import Callable

from policy.guardrails import count_of
from settings.engine import MISSING, STACK, Problem, rule
from settings.engine import at as _at
from settings.objects import recommended_labels
from settings.quantity import parse_quantity

INSTANCE_LABEL_LIMIT = 63
RELEASE_LABELS = ("app.kubernetes.io/version",)


def _pairs() -> list[Callable[..., list[Problem]]]:
    """One rule per resource amount and per probe."""
    made: list[Callable[..., list[Problem]]] = []
    for amount in ("cpu", "memory", "ephemeralStorage"):
        request, limit = f"backend.resources.requests.{amount}", f"backend.resources.limits.{amount}"

        @rule(request, limit)
        def request_within_limit(req: str, lim: str, _path: str = request, _amount: str = amount) -> list[Problem]:
            """Each resource request is at most its limit."""
            if parse_quantity(req) <= parse_quantity(lim):
                return []
            return [Problem(_at(_path), req, f"must not exceed limits.{_amount} ({lim})")]

        made.append(request_within_limit)
    for probe in ("startup", "readiness", "liveness"):
        timeout, period = f"backend.probes.{probe}.timeoutSeconds", f"backend.probes.{probe}.periodSeconds"

        @rule(timeout, period)
        def timeout_below_period(seconds: int, every: int, _path: str = timeout) -> list[Problem]:
            """Each probe's timeout is less than its period."""
            if seconds < every:
                return []
            return [Problem(_at(_path), seconds, f"must be less than periodSeconds ({every}) so probes never overlap")]

        made.append(timeout_below_period)
    return made


PAIR_RULES = _pairs()


@rule("backend.image.tag", "backend.image.digest")
def image_is_pinned(tag: str | None, digest: str | None) -> list[Problem]:
    """The image has a tag or a digest."""
    if tag is None and digest is None:
        return [
            Problem(_at("backend.image.tag"), MISSING, "set image.tag or image.digest (an untagged image is :latest)")
        ]
    return []


@rule("backend.image.pullPolicy", "backend.image.digest")
def cache_only_a_digest(policy: str, digest: str | None) -> list[Problem]:
    """The pull policy `IfNotPresent` needs a digest."""
    if policy == "IfNotPresent" and digest is None:
        allowed = "IfNotPresent needs image.digest (a tag can be re-pushed); use Always or pin a digest"
        return [Problem(_at("backend.image.pullPolicy"), policy, allowed)]
    return []


@rule("backend.termination.preStopSleepSeconds", "backend.termination.gracePeriodSeconds")
def prestop_leaves_time_to_stop(sleep: int, grace: int) -> list[Problem]:
    """The preStop sleep is shorter than the grace period."""
    if sleep < grace:
        return []
    allowed = f"must be less than gracePeriodSeconds ({grace}), or the app gets no time to shut down"
    return [Problem(_at("backend.termination.preStopSleepSeconds"), sleep, allowed)]


@rule("backend.autoscaling.minReplicas", "backend.autoscaling.maxReplicas")
def min_within_max(minimum: int, maximum: int) -> list[Problem]:
    """`minReplicas` is at most `maxReplicas`."""
    if minimum <= maximum:
        return []
    return [
        Problem(_at("backend.autoscaling.minReplicas"), minimum, f"must not exceed autoscaling.maxReplicas ({maximum})")
    ]


@rule("backend.rollout.maxSurge", "backend.rollout.maxUnavailable")
def rollout_can_progress(surge: int | str, unavailable: int | str) -> list[Problem]:
    """A release can progress: `maxSurge` and `maxUnavailable` are not both 0."""
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
    """The budget sets exactly one of its keys, and lets at least one pod go at `minReplicas`."""
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
    """`/tmp` fits in the ephemeral storage limit."""
    if parse_quantity(tmp_size) <= parse_quantity(limit):
        return []
    return [
        Problem(_at("backend.tmpSizeLimit"), tmp_size, f"must not exceed resources.limits.ephemeralStorage ({limit})")
    ]


@rule("environment", STACK)
def environment_is_the_stack(environment: str, stack: str) -> list[Problem]:
    """`environment` is the stack's name."""
    if environment == stack:
        return []
    allowed = f"must equal the stack name '{stack}' (a copied stack file must not pose as another environment)"
    return [Problem(("environment",), environment, allowed)]


@rule("environment", "backend.name")
def instance_label_fits(environment: str, name: str) -> list[Problem]:
    """The instance label `<name>-<environment>` has at most 63 characters."""
    instance = f"{name}-{environment}"
    if len(instance) <= INSTANCE_LABEL_LIMIT:
        return []
    allowed = (
        f"'{instance}' (name-environment) is the app.kubernetes.io/instance label, at most "
        f"{INSTANCE_LABEL_LIMIT} chars (is {len(instance)})"
    )
    return [Problem(_at("backend.name"), name, allowed)]


@rule("backend.selector", "backend.name", "environment")
def selector_fits_the_labels(selector: dict | None, name: str, environment: str) -> list[Problem]:
    """The selector agrees with the recommended labels, and never changes with a release.

    The pods carry the recommended labels plus the selector: a selector key that is also a
    recommended label must agree with it, and none may change with a release."""
    if selector is None:
        return []
    recommended = recommended_labels(name, environment, "")
    found = []
    for key, value in sorted(selector.items()):
        where = (*_at("backend.selector"), key)
        if key in RELEASE_LABELS:
            allowed = f"{key} changes with every release, and a Deployment's selector can never change"
            found.append(Problem(where, value, allowed))
        elif key in recommended and recommended[key] != value:
            allowed = (
                f"the pods also carry {key}: {recommended[key]} (from backend.name and environment); they must agree"
            )
            found.append(Problem(where, value, allowed))
    return found


@rule("kubernetes.adopt", "kubernetes.createNamespace")
def adopted_namespace_is_declared(adopt: tuple, create: bool) -> list[Problem]:
    """Adopting the namespace needs `createNamespace: true`."""
    if "namespace" not in adopt or create:
        return []
    allowed = "adopting the Namespace needs createNamespace: true (otherwise the program does not declare it)"
    return [Problem(_at("kubernetes.adopt"), list(adopt), allowed)]
