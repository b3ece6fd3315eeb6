"""Settings of replica count and availability: HPA, PDB, rollout and spreading."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import Int32, IntOrPercent, Model


class ScalingPolicy(Model):
    type: Literal["Pods", "Percent"] = Field(
        description="`Pods`: a change of at most `value` pods per period; `Percent`: of at most `value` percent "
        "of the current count."
    )
    value: Int32 = Field(gt=0, description="How many pods, or what percentage, per period.")
    period_seconds: Int32 = Field(
        gt=0, le=1800, description="The period the limit holds over; the API server caps it at 30 minutes."
    )


class ScalingRules(Model):
    stabilization_window_seconds: Int32 = Field(
        ge=0,
        le=3600,
        description="Seconds of past recommendations the HPA looks back over: it takes the most cautious one, so "
        "that a short spike or lull does not scale.",
    )
    select_policy: Literal["Max", "Min", "Disabled"] = Field(
        "Max",
        description="Which policy applies: `Max` the one allowing the largest change, `Min` the smallest, "
        "`Disabled` none (no scaling in this direction).",
    )
    policies: tuple[ScalingPolicy, ...] = Field(min_length=1, description="The limits on how fast the count changes.")


class Behavior(Model):
    scale_up: ScalingRules = Field(
        ScalingRules(
            stabilizationWindowSeconds=0,
            selectPolicy="Max",
            policies=(
                ScalingPolicy(type="Percent", value=100, periodSeconds=30),
                ScalingPolicy(type="Pods", value=2, periodSeconds=30),
            ),
        ),
        description="How fast pods are added; by default fast: double or 2 more every 30 s, whichever is more.",
    )
    scale_down: ScalingRules = Field(
        ScalingRules(
            stabilizationWindowSeconds=300,
            selectPolicy="Max",
            policies=(ScalingPolicy(type="Percent", value=50, periodSeconds=60),),
        ),
        description="How fast pods are removed; by default slowly: half per minute after 5 minutes of lower load, "
        "so that a short lull never sheds capacity a burst still needs.",
    )


class Autoscaling(Model):
    min_replicas: Int32 = Field(
        ge=1, description="The fewest pods; production runs at least 2, to survive a node drain or a crash."
    )
    max_replicas: Int32 = Field(ge=1, description="The most pods: at least `minReplicas`, and in production above it.")
    target_cpu_utilization: Int32 = Field(
        ge=1, le=100, description="The average CPU use the HPA aims at, in percent of the pods' CPU requests."
    )
    target_memory_utilization: Int32 = Field(
        ge=1, le=100, description="The average memory use the HPA aims at, in percent of the pods' memory requests."
    )
    behavior: Behavior = Field(Behavior(), description="How fast the HPA scales up and down.")


class DisruptionBudget(Model):
    """Exactly one of the two (checked in settings.rules), as the PDB API itself demands."""

    min_available: IntOrPercent | None = Field(
        None,
        description="The pods a voluntary disruption (a node drain, an eviction) must leave running, a count or a "
        "percentage rounded up; below `autoscaling.minReplicas`. A count is a floor, not a share: `1` protects "
        "against a total outage at every size, but at 10 replicas lets 9 go at once (several nodes drained "
        "together, a cluster upgrade); a budget that scales with the count is a `maxUnavailable` percentage.",
    )
    max_unavailable: IntOrPercent | None = Field(
        None,
        description="The pods a voluntary disruption may take down at once, a count or a percentage rounded up "
        "(`25%` is 1 of 2 pods, 3 of 10): at least 1 pod, or every drain blocks; in production it keeps at least "
        "1 running.",
    )


class Rollout(Model):
    max_surge: IntOrPercent = Field(
        "25%", description="The pods a release may add above the desired count, a count or a percentage rounded up."
    )
    max_unavailable: IntOrPercent = Field(
        0,
        description="The pods a release may take down below the desired count, a count or a percentage rounded "
        "down; not 0 together with `maxSurge`. `0`: surge first, never below the ready count. In production, at "
        "every count from `minReplicas` to `maxReplicas`, a release takes down at most 25 % of the pods (or one) "
        "and never more than the disruption budget lets go.",
    )
    revision_history_limit: Int32 = Field(
        10, ge=1, le=100, description="The old ReplicaSets kept for `kubectl rollout undo`."
    )
    progress_deadline_seconds: Int32 = Field(
        600, ge=60, description="Seconds a release may make no progress before the Deployment reports it failed."
    )


class TopologySpread(Model):
    topology_key: Literal["topology.kubernetes.io/zone", "kubernetes.io/hostname"] = Field(
        description="The node label the pods spread over: zones or nodes."
    )
    max_skew: Int32 = Field(
        1, ge=1, description="The largest difference in pod count between two zones or nodes the spread allows."
    )
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = Field(
        "ScheduleAnyway",
        description="`ScheduleAnyway` prefers the spread, `DoNotSchedule` requires it; soft by default, as a hard "
        "spread can leave a pod Pending while a node drains.",
    )
