"""The autoscaling/v2 HorizontalPodAutoscaler controller's arithmetic, one sync at a time.

Follows kubernetes/kubernetes `pkg/controller/podautoscaler` (v1.33):
- `replica_calculator.go`, GetResourceReplicas: pods without metrics are *missing*; with CPU, a
  pod not Ready within the CPU initialization period (5 min), or Ready for less than one metric
  window, is *unready* and its sample ignored. Utilization is sum(usage) * 100 / sum(requests) in
  integer arithmetic, the ratio against the target; within the tolerance (0.1) nothing changes.
  With missing pods, a scale-down counts them at max(100 %, target) of their request and a scale-up
  at 0; a scale-up counts unready pods at 0. If that flips the direction or lands within the
  tolerance, nothing changes; the new count is ceil(ratio x pods counted).
- `horizontal.go`: the largest proposal of all metrics wins; stabilizeRecommendationWithBehaviors
  keeps the highest recommendation inside the scale-down window and the lowest inside the scale-up
  window; convertDesiredReplicasWithBehaviorRate limits the change by the policies, each against
  the replicas at the start of its period (current minus the scale events inside it), picking by
  selectPolicy (Max: the largest change, Min: the smallest, Disabled: none), then min/max replicas.
- Kubernetes' default behavior: an HPA without `behavior` keeps none (the API fills defaults only
  into a `behavior` that is set, `pkg/apis/autoscaling/v2/defaults.go`), and the controller takes its
  older path (normalizeDesiredReplicas): the 5-minute downscale stabilization window and, per sync,
  at most max(2 x current, 4) replicas up (scaleUpLimitFactor, scaleUpLimitMinimum).
- groupPods: a Pending pod (its image still pulling) is unready for every resource; a Running pod
  without metrics is missing. computeReplicasForMetrics: when a metric has no usable sample and the
  others propose fewer replicas, nothing changes.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter, is_
from typing import NamedTuple


@dataclass(frozen=True)
class Policy:
    type: str  # Pods or Percent
    value: int
    period_seconds: int


@dataclass(frozen=True)
class Rules:
    stabilization_window_seconds: int
    select_policy: str  # Max, Min or Disabled
    policies: tuple[Policy, ...]


@dataclass(frozen=True)
class Spec:
    min_replicas: int
    max_replicas: int
    targets: dict[str, int]  # resource -> target utilization (%)
    scale_up: Rules
    scale_down: Rules
    # No `behavior` on the HPA: the controller's older path (see the module's docstring).
    without_behavior: bool = False


DEFAULT_SCALE_UP = Rules(0, "Max", (Policy("Percent", 100, 15), Policy("Pods", 4, 15)))
DEFAULT_SCALE_DOWN = Rules(300, "Max", (Policy("Percent", 100, 15),))
SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2, 4


class PodSample(NamedTuple):
    """What the metrics API and the pod's status say of one pod at a sync (a tuple: a week of syncs
    builds a few hundred thousand)."""

    usage: dict[str, int] | None  # resource -> usage (millicores, bytes); None: no metrics yet
    request: dict[str, int]
    pending: bool  # not Running yet (pulling its image)
    ready: bool
    age_seconds: float
    ready_for_seconds: float  # since its last readiness transition (0 when not ready)
    ever_ready: bool


_PERIOD = attrgetter("period_seconds")


@dataclass
class Controller:
    spec: Spec
    tolerance: float = 0.1
    cpu_initialization_seconds: int = 300
    initial_readiness_delay_seconds: int = 30
    metric_window_seconds: int = 15
    # The recommendations (time, replicas) that can still be the lowest of the scale-up window or
    # the highest of the scale-down one, oldest first: one that a later recommendation equals or
    # outdoes never can again (the later one stays in the window longer), so each window's extreme
    # is its first. A sliding-window minimum and maximum: a sync adds one recommendation and drops
    # the ones it outdoes, and costs as little under a 3,600 s window as under none.
    lowest: deque[tuple[float, int]] = field(default_factory=deque)  # replicas rising
    highest: deque[tuple[float, int]] = field(default_factory=deque)  # replicas falling
    scale_events: list[tuple[float, int]] = field(default_factory=list)  # (time, signed change)
    longest_period: int = field(init=False)  # of both directions' policies (the spec is frozen)

    def __post_init__(self) -> None:
        self.longest_period = max(map(_PERIOD, chain(self.spec.scale_up.policies, self.spec.scale_down.policies)))

    def replicas_for(self, resource: str, current: int, pods: list[PodSample]) -> int | None:
        """One metric's proposal (GetResourceReplicas); None when no pod has a usable sample."""
        target = self.spec.targets[resource]
        steady = self._steady(resource, current, pods, target)
        if steady is not None:
            return steady
        metrics: dict[int, int] = {}
        missing, unready = [], []
        for index, pod in enumerate(pods):
            if pod.pending:
                unready.append(index)
                continue
            if pod.usage is None:
                missing.append(index)
                continue
            if resource == "cpu" and self._unready_for_cpu(pod):
                unready.append(index)
                continue
            metrics[index] = pod.usage[resource]
        if not metrics:
            return None
        ratio = self._ratio(metrics, pods, resource, target)
        scale_up_with_unready = bool(unready) and ratio > 1.0
        if not scale_up_with_unready and not missing:
            if abs(1.0 - ratio) <= self.tolerance:
                return current
            return math.ceil(ratio * len(metrics))
        if missing and ratio < 1.0:
            fallback = max(100, target)
            metrics.update({i: pods[i].request[resource] * fallback // 100 for i in missing})
        elif missing and ratio > 1.0:
            metrics.update(dict.fromkeys(missing, 0))
        if scale_up_with_unready:
            metrics.update(dict.fromkeys(unready, 0))
        new_ratio = self._ratio(metrics, pods, resource, target)
        proposal = math.ceil(new_ratio * len(metrics))
        # Within the tolerance, a flipped direction, or a proposal against the direction: no change.
        unchanged = abs(1.0 - new_ratio) <= self.tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio)
        against = (new_ratio < 1.0 and proposal > current) or (new_ratio > 1.0 and proposal < current)
        return current if unchanged or against else proposal

    def _steady(self, resource: str, current: int, pods: list[PodSample], target: int) -> int | None:
        """Every pod the same usable sample (a steady state): the sums reduce to one pod's figures."""
        first = pods[0] if pods else None
        if (
            first is None
            or first.pending
            or first.usage is None
            or (resource == "cpu" and self._unready_for_cpu(first))
            or not all(map(is_, pods, repeat(first)))  # C iterators: a genexpr costs a step per pod
        ):
            return None
        ratio = first.usage[resource] * 100 // first.request[resource] / target
        return current if abs(1.0 - ratio) <= self.tolerance else math.ceil(ratio * len(pods))

    def _unready_for_cpu(self, pod: PodSample) -> bool:
        if pod.age_seconds < self.cpu_initialization_seconds:
            return not pod.ready or pod.ready_for_seconds < self.metric_window_seconds
        # Past it: a pod not ready that has never been ready (its last transition came within the
        # initial readiness delay of its start) is still unready.
        return not pod.ready and not pod.ever_ready

    @staticmethod
    def _ratio(metrics: dict[int, int], pods: list[PodSample], resource: str, target: int) -> float:
        requests = sum(pods[i].request[resource] for i in metrics)
        utilization = sum(metrics.values()) * 100 // requests  # integer, as the controller computes it
        return utilization / target

    def sync(self, now: float, current: int, pods: list[PodSample]) -> int:
        """The replica count this sync sets (the scale subresource's new spec.replicas)."""
        if not self.highest:  # maybeInitScaleDownStabilizationWindow
            self.lowest.append((now, current))
            self.highest.append((now, current))
        if current > self.spec.max_replicas or current < self.spec.min_replicas:
            desired = min(max(current, self.spec.min_replicas), self.spec.max_replicas)  # no metrics needed
        else:
            proposals = [p for r in self.spec.targets if (p := self.replicas_for(r, current, pods)) is not None]
            if not proposals or (len(proposals) < len(self.spec.targets) and max(proposals) < current):
                return current  # a metric failed: the controller never scales down on the others alone
            desired = self._stabilize(now, current, max(proposals))
            desired = self._limit_rate(now, current, desired)
        if desired != current:
            self.scale_events.append((now, desired - current))
        # Events older than the longest policy period can limit nothing any more.
        longest = self.longest_period
        if self.scale_events and self.scale_events[0][0] <= now - longest:
            self.scale_events = [(at, change) for at, change in self.scale_events if at > now - longest]
        return desired

    def _stabilize(self, now: float, current: int, proposal: int) -> int:
        """The lowest recommendation of the scale-up window and the highest of the scale-down one,
        this proposal included (the windows hold the recommendations made after now - window)."""
        lowest, highest = self.lowest, self.highest
        up_cut = now - self.spec.scale_up.stabilization_window_seconds
        while lowest and lowest[0][0] <= up_cut:
            lowest.popleft()  # out of the window, and of every later sync's
        down_cut = now - self.spec.scale_down.stabilization_window_seconds
        while highest and highest[0][0] <= down_cut:
            highest.popleft()
        up = min(lowest[0][1], proposal) if lowest else proposal
        down = max(highest[0][1], proposal) if highest else proposal
        while lowest and lowest[-1][1] >= proposal:
            lowest.pop()
        lowest.append((now, proposal))
        while highest and highest[-1][1] <= proposal:
            highest.pop()
        highest.append((now, proposal))
        return min(max(current, up), down)

    def _changes_within(self, now: float, period: int, sign: int) -> int:
        return sum(abs(change) for at, change in self.scale_events if at > now - period and change * sign > 0)

    def _limit(self, now: float, current: int, rules: Rules, up: bool) -> int:
        if rules.select_policy == "Disabled":
            return current
        pick = (min if rules.select_policy == "Min" else max) if up else (max if rules.select_policy == "Min" else min)
        proposals = []
        for policy in rules.policies:
            start = (
                current
                - self._changes_within(now, policy.period_seconds, 1)
                + self._changes_within(now, policy.period_seconds, -1)
            )
            if policy.type == "Pods":
                proposals.append(start + policy.value if up else start - policy.value)
            elif up:
                proposals.append(math.ceil(start * (1 + policy.value / 100)))
            else:
                proposals.append(int(start * (1 - policy.value / 100)))
        return pick(proposals)

    def _limit_rate(self, now: float, current: int, desired: int) -> int:
        spec = self.spec
        if spec.without_behavior:
            ceiling = max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM)
            return min(max(desired, spec.min_replicas), spec.max_replicas, ceiling)
        if desired > current:
            ceiling = min(spec.max_replicas, max(current, self._limit(now, current, spec.scale_up, True)))
            return min(desired, ceiling)
        if desired < current:
            floor = max(spec.min_replicas, min(current, self._limit(now, current, spec.scale_down, False)))
            return max(desired, floor)
        return desired
