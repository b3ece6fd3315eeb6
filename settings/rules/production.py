"""Guardrails of a stack marked ``production: true``: each refuses what would defeat a promise
the documentation makes about production (availability through drains and releases, graceful stops,
spreading, a pinned image, a provider that never drops or adopts objects on its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy.guardrails import count_of
from settings.engine import MISSING, Problem, rule
from settings.engine import at as _at


@rule("production", "backend.image.tag")
def production_pins_its_image(production: bool, tag: str | None) -> list[Problem]:
    """Production refuses the image tag `latest`."""
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
    """Production runs at least 2 replicas, with a budget that keeps a pod and lets one go."""
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


# How each spread must look in production (docs/design-decisions.md#spreading): soft across zones,
# so losing a zone never blocks scheduling; hard and tight across nodes, so one node never holds two
# replicas while there are enough nodes.
SPREAD_SHAPE: dict[str, dict[str, str | int]] = {
    "topology.kubernetes.io/zone": {"whenUnsatisfiable": "ScheduleAnyway"},
    "kubernetes.io/hostname": {"whenUnsatisfiable": "DoNotSchedule", "maxSkew": 1},
}
# A graceful stop: endpoints and load balancers need a few seconds to drop the pod (the preStop
# sleep) and the app needs time to finish in-flight requests after SIGTERM.
MIN_PRESTOP_SECONDS = 5
# The largest share of the pods a production release may take down at once (at least one pod),
# Kubernetes' own default for maxUnavailable: capacity a surge-first rollout never gives up.
MAX_RELEASE_SHARE = 25
MIN_SHUTDOWN_SECONDS = 10
# Provider switches a production stack never flips: each would drop, adopt or force objects on
# its own. The value is the only one allowed, and why.
PROVIDER_LOCKS = {
    "enableServerSideApply": (True, "server-side apply tracks field ownership, so no other manager's change is lost"),
    "deleteUnreachable": (False, "an unreachable cluster would silently drop every resource from state"),
    "skipUpdateUnreachable": (False, "an unreachable cluster would silently skip updates"),
    "upsertExistingObjects": (False, "it silently adopts live objects; adopt them with an import instead"),
    "enablePatchForce": (False, "it overrides other field managers' changes without a conflict"),
}


@rule("production", "backend.topologySpread")
def production_spreads(production: bool, spreads: tuple) -> list[Problem]:
    """Production spreads over zones (soft) and hosts (hard, `maxSkew: 1`)."""
    if not production:
        return []
    keys = sorted(spread.topology_key for spread in spreads)
    if keys != sorted(SPREAD_SHAPE):
        allowed = "production stacks spread over both topology.kubernetes.io/zone and kubernetes.io/hostname"
        return [Problem(_at("backend.topologySpread"), keys, allowed)]
    found = []
    for index, spread in enumerate(spreads):
        written = spread.model_dump(by_alias=True)
        for key, needed in SPREAD_SHAPE[spread.topology_key].items():
            if written[key] != needed:
                allowed = (
                    f"production spreads over {spread.topology_key} need {key}: {needed}"
                    " (docs/design-decisions.md#spreading)"
                )
                found.append(Problem((*_at("backend.topologySpread"), index, key), written[key], allowed))
    return found


@rule(
    "production",
    "backend.rollout.maxUnavailable",
    "backend.autoscaling.minReplicas",
    "backend.autoscaling.maxReplicas",
    "backend.disruptionBudget.minAvailable",
    "backend.disruptionBudget.maxUnavailable",
)
def production_releases_keep_capacity(  # noqa: PLR0917 (the engine passes one piece per key)
    production: bool, unavailable: Any, floor: int, ceiling: int, min_available: Any, max_unavailable: Any
) -> list[Problem]:
    """A production release takes down at most 25 % of the pods (or one), and never more than a drain may."""
    if not production or (min_available is None) == (max_unavailable is None):
        return []
    # Past a few hundred replicas the margin only grows or shrinks steadily with the count, so
    # the first thousand counts decide (and a huge maxReplicas costs nothing).
    for replicas in range(floor, min(max(floor, ceiling), floor + 1000) + 1):
        # The Deployment controller rounds maxUnavailable down. (When it and maxSurge both come
        # to zero it lets one pod go, which the cap and every valid budget allow anyway.)
        down = min(count_of(unavailable, replicas, round_up=False), replicas)
        cap = max(1, replicas * MAX_RELEASE_SHARE // 100)
        if min_available is not None:
            kept = count_of(min_available, replicas, round_up=True)
        else:
            kept = replicas - count_of(max_unavailable, replicas, round_up=True)
        if down > cap or replicas - down < kept:
            allowed = (
                f"at {replicas} replicas a release could take {down} pods down; production releases take down at "
                f"most {MAX_RELEASE_SHARE}% of the pods or one ({cap} here) and keep what the disruption budget "
                f"keeps ({kept})"
            )
            return [Problem(_at("backend.rollout.maxUnavailable"), unavailable, allowed)]
    return []


@rule("production", "backend.termination.preStopSleepSeconds", "backend.termination.gracePeriodSeconds")
def production_stops_gracefully(production: bool, sleep: int, grace: int) -> list[Problem]:
    """Production pods sleep at least 5 s before SIGTERM, then get at least 10 s to stop."""
    found = []
    if production and sleep < MIN_PRESTOP_SECONDS:
        allowed = (
            f"production pods sleep at least {MIN_PRESTOP_SECONDS} s before SIGTERM, so endpoints and load "
            "balancers stop sending them traffic first"
        )
        found.append(Problem(_at("backend.termination.preStopSleepSeconds"), sleep, allowed))
    # sleep >= grace is reported by settings.rules already: one cause, one line.
    if production and sleep < grace and grace - sleep < MIN_SHUTDOWN_SECONDS:
        allowed = (
            f"production pods get at least {MIN_SHUTDOWN_SECONDS} s after the preStop sleep ({sleep} s) to finish "
            f"in-flight requests: at least {sleep + MIN_SHUTDOWN_SECONDS}"
        )
        found.append(Problem(_at("backend.termination.gracePeriodSeconds"), grace, allowed))
    return found


@rule(
    "production",
    "backend.autoscaling.behavior.scaleUp.selectPolicy",
    "backend.autoscaling.minReplicas",
    "backend.autoscaling.maxReplicas",
)
def production_scales_up(production: bool, policy: str, floor: int, ceiling: int) -> list[Problem]:
    """Production can scale up: `scaleUp` is not `Disabled`, and `maxReplicas` is above `minReplicas`."""
    found = []
    if production and policy == "Disabled":
        allowed = "production stacks must be able to scale up under load: Max or Min"
        found.append(Problem(_at("backend.autoscaling.behavior.scaleUp.selectPolicy"), policy, allowed))
    if production and ceiling == floor:
        allowed = f"production stacks must be able to scale up under load: above minReplicas ({floor})"
        found.append(Problem(_at("backend.autoscaling.maxReplicas"), ceiling, allowed))
    return found


def _provider_locks() -> list[Callable[..., list[Problem]]]:
    # One rule per switch: a typo in a sibling switch must not hide a refused one.
    made: list[Callable[..., list[Problem]]] = []
    for key, (value, why) in PROVIDER_LOCKS.items():

        @rule("production", f"kubernetes.provider.{key}")
        def provider_switch_is_safe(
            production: bool, written: bool, _key: str = key, _value: bool = value, _why: str = why
        ) -> list[Problem]:
            """Production never lets the provider drop, skip, adopt or force objects on its own."""
            if not production or written == _value:
                return []
            allowed = f"production stacks need {str(_value).lower()}: {_why}"
            return [Problem(_at(f"kubernetes.provider.{_key}"), written, allowed)]

        made.append(provider_switch_is_safe)
    return made


PROVIDER_SWITCH_RULES = _provider_locks()


@rule("production", "kubernetes.clusterIdentifier")
def production_names_its_cluster(production: bool, identifier: str | None) -> list[Problem]:
    """Production sets `kubernetes.clusterIdentifier`."""
    if not production or identifier is not None:
        return []
    allowed = (
        "production stacks set the cluster's name or ARN: changing it later replaces the provider and every "
        "resource with it, so it must be right from the first `pulumi up`"
    )
    return [Problem(_at("kubernetes.clusterIdentifier"), MISSING, allowed)]
