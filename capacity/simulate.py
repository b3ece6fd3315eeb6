"""Run the HPA controller (capacity.controller) against a load profile, with pods that take time
to start: plain data in (the stack's settings, a load function), plain data out (one row per sync)."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from capacity.controller import DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, Controller, PodSample, Policy, Rules, Spec
from settings.capacity import Capacity
from settings.quantity import parse_quantity
from settings.scaling import ScalingRules
from settings.stack import StackSettings

MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    seconds: int
    load: float
    ready: int
    desired: int
    cpu_utilization: float  # % of requests, averaged over ready pods
    memory_utilization: float


def _rules(rules: ScalingRules) -> Rules:
    policies = tuple(Policy(p.type, p.value, p.period_seconds) for p in rules.policies)
    return Rules(rules.stabilization_window_seconds, rules.select_policy, policies)


def hpa_spec(settings: StackSettings, kubernetes_defaults: bool = False) -> Spec:
    """The stack's HPA as the controller reads it; or the same HPA with Kubernetes' default behavior."""
    scaling = settings.backend.autoscaling
    targets = {"cpu": scaling.target_cpu_utilization, "memory": scaling.target_memory_utilization}
    if kubernetes_defaults:
        return Spec(
            scaling.min_replicas,
            scaling.max_replicas,
            targets,
            DEFAULT_SCALE_UP,
            DEFAULT_SCALE_DOWN,
            without_behavior=True,
        )
    behavior = scaling.behavior
    return Spec(
        scaling.min_replicas, scaling.max_replicas, targets, _rules(behavior.scale_up), _rules(behavior.scale_down)
    )


def requests_of(settings: StackSettings) -> dict[str, int]:
    """The container's requests in the metrics API's units: millicores and bytes."""
    requests = settings.backend.resources.requests
    return {"cpu": int(parse_quantity(requests.cpu) * 1000), "memory": int(parse_quantity(requests.memory))}


def simulate(
    settings: StackSettings,
    load: Callable[[float], float],
    duration_seconds: int,
    kubernetes_defaults: bool = False,
) -> list[Row]:
    """One row per controller sync, from `minReplicas` ready pods at second 0."""
    capacity: Capacity = settings.capacity
    spec = hpa_spec(settings, kubernetes_defaults)
    controller = Controller(
        spec,
        tolerance=capacity.tolerance,
        cpu_initialization_seconds=capacity.cpu_initialization_seconds,
        initial_readiness_delay_seconds=capacity.initial_readiness_delay_seconds,
        metric_window_seconds=capacity.metric_window_seconds,
    )
    request = requests_of(settings)
    started = capacity.pod_startup_seconds
    created = [-float(max(started, capacity.cpu_initialization_seconds))] * spec.min_replicas  # long running
    rows = []
    baseline = _baseline(capacity)
    cpu_limit = float(parse_quantity(settings.backend.resources.limits.cpu)) * 1000
    # Beyond this age a pod's samples depend on nothing but the load (CPU initialization, readiness delay, window).
    horizon = max(
        capacity.cpu_initialization_seconds, capacity.initial_readiness_delay_seconds, capacity.metric_window_seconds
    )
    # `created` stays sorted, oldest first (new pods are appended at `now`, a scale-down keeps the
    # oldest): the ready pods, and the settled ones among them, are a prefix found by bisection
    # rather than counted pod by pod at every sync (a replayed week is 40,321 syncs).
    for now in range(0, duration_seconds + 1, capacity.sync_period_seconds):
        units = load(now)
        ready = bisect_right(created, now - started)  # born + started <= now
        share = units / ready if ready else 0.0
        # CPU above the limit is throttled, never used: what the metrics (and the controller) see.
        cpu = min(capacity.load.cpu_millicores_baseline + capacity.load.cpu_millicores_per_unit * share, cpu_limit)
        memory = (capacity.load.memory_mib_baseline + capacity.load.memory_mib_per_unit * share) * MIB
        serving = {"cpu": int(cpu), "memory": int(memory)}
        # Pods past every start-up threshold are alike to the controller: one shared sample.
        settled = PodSample(serving, request, False, True, float(horizon), float(horizon), True)
        alike = bisect_right(created, now - started - horizon)  # now - born - started >= horizon
        samples = [settled] * alike
        for born in created[alike:]:
            age, since_ready = now - born, now - born - started
            is_ready = since_ready >= 0
            # Pending while the image pulls; Running without metrics for one metrics window; then a
            # starting pod uses its baseline only (it serves nothing) until it is ready.
            pending = age < capacity.image_pull_seconds
            first_sample = age >= capacity.image_pull_seconds + capacity.metric_window_seconds
            usage = serving if is_ready else baseline if first_sample else None
            samples.append(PodSample(usage, request, pending, is_ready, age, max(0.0, since_ready), is_ready))
        desired = controller.sync(now, len(created), samples)
        cpu_utilization = 100 * cpu / request["cpu"] if ready else 0.0
        memory_utilization = 100 * memory / request["memory"] if ready else 0.0
        rows.append(Row(now, units, ready, desired, cpu_utilization, memory_utilization))
        if desired > len(created):
            created += [float(now)] * (desired - len(created))
        elif desired < len(created):
            created = sorted(created)[:desired]  # the newest pods go first, as a ReplicaSet picks
    return rows


def _baseline(capacity: Capacity) -> dict[str, int]:
    return {"cpu": int(capacity.load.cpu_millicores_baseline), "memory": int(capacity.load.memory_mib_baseline * MIB)}


@dataclass(frozen=True)
class Summary:
    short_at: int | None  # the first sync short of capacity; None: never short
    seconds_to_capacity: int | None  # from short_at until it is back within target for a minute; None: not by the end
    short_at_end: bool  # the last sync short of capacity
    seconds_over_requests: int  # ready pods above 100 % of a request
    peak_replicas: int
    final_replicas: int
    dropped_at: int | None  # the first sync after the load's (last) peak, where it is lower; None: it never dropped
    seconds_to_scale_down: int | None  # from dropped_at to the count's last change; None: no change after it
    settled: bool  # no change of the count within a scale-down window of the end


def summarize(settings: StackSettings, rows: list[Row]) -> Summary:
    step = settings.capacity.sync_period_seconds
    scaling, limit = settings.backend.autoscaling, 1 + settings.capacity.tolerance

    def short(row: Row) -> bool:
        return row.cpu_utilization > scaling.target_cpu_utilization * limit or (
            row.memory_utilization > scaling.target_memory_utilization * limit
        )

    # From the first sync short of capacity to the first one after which it stays within target
    # for a minute.
    first_short = next((i for i, row in enumerate(rows) if short(row)), None)
    to_capacity = None
    if first_short is not None:
        hold = max(1, 60 // step)
        for i in range(first_short + 1, len(rows)):
            if not any(short(row) for row in rows[i : i + hold]) and i + hold <= len(rows):
                to_capacity = rows[i].seconds - rows[first_short].seconds
                break
    # The drop is measured from the load's peak: a gradual fall (the diurnal evening) is one drop
    # that starts there, not one per sync until the end.
    peak = max(r.load for r in rows)
    last_peak = max(i for i, r in enumerate(rows) if r.load == peak)
    dropped_at = rows[last_peak + 1].seconds if last_peak + 1 < len(rows) else None
    to_scale_down, settled = None, True
    if dropped_at is not None:
        changes = [
            r.seconds for prev, r in itertools.pairwise(rows) if r.seconds >= dropped_at and r.desired != prev.desired
        ]
        behavior = scaling.behavior.scale_down
        quiet = behavior.stabilization_window_seconds + max(p.period_seconds for p in behavior.policies)
        last = changes[-1] if changes else dropped_at
        to_scale_down = last - dropped_at if changes else None
        # A change (or the drop itself) this close to the end may be followed by another.
        settled = rows[-1].seconds - last > quiet
    over = sum(step for r in rows if r.cpu_utilization > 100 or r.memory_utilization > 100)
    return Summary(
        None if first_short is None else rows[first_short].seconds,
        to_capacity,
        short(rows[-1]),
        over,
        max(r.desired for r in rows),
        rows[-1].desired,
        dropped_at,
        to_scale_down,
        settled,
    )


def needed_replicas(settings: StackSettings, units: float) -> int:
    """Pods that keep CPU at its target under `units` of load (the steady state to reach)."""
    model, request = settings.capacity.load, requests_of(settings)["cpu"]
    target = settings.backend.autoscaling.target_cpu_utilization / 100 * request
    return max(1, math.ceil(model.cpu_millicores_per_unit * units / (target - model.cpu_millicores_baseline)))
