"""Settings of replica count and availability: HPA, PDB, rollout and spreading."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from settings.base import Int32, IntOrPercent, Model


class ScalingPolicy(Model):
    type: Literal["Pods", "Percent"]
    value: Int32 = Field(gt=0)
    # The API server caps a policy period at 30 minutes.
    period_seconds: Int32 = Field(gt=0, le=1800)


class ScalingRules(Model):
    stabilization_window_seconds: Int32 = Field(ge=0, le=3600)
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"
    policies: tuple[ScalingPolicy, ...] = Field(min_length=1)


class Behavior(Model):
    # Up fast (double or +2 pods every 30 s, whichever is more), down slowly (half per minute
    # after 5 minutes of lower load) so a short lull never sheds capacity a burst still needs.
    scale_up: ScalingRules = ScalingRules(
        stabilizationWindowSeconds=0,
        selectPolicy="Max",
        policies=(
            ScalingPolicy(type="Percent", value=100, periodSeconds=30),
            ScalingPolicy(type="Pods", value=2, periodSeconds=30),
        ),
    )
    scale_down: ScalingRules = ScalingRules(
        stabilizationWindowSeconds=300,
        selectPolicy="Max",
        policies=(ScalingPolicy(type="Percent", value=50, periodSeconds=60),),
    )


class Autoscaling(Model):
    min_replicas: Int32 = Field(ge=1)
    max_replicas: Int32 = Field(ge=1)
    target_cpu_utilization: Int32 = Field(ge=1, le=100)
    target_memory_utilization: Int32 = Field(ge=1, le=100)
    behavior: Behavior = Behavior()


class DisruptionBudget(Model):
    """Exactly one of the two (checked in settings.rules), as the PDB API itself demands."""

    min_available: IntOrPercent | None = None
    max_unavailable: IntOrPercent | None = None


class Rollout(Model):
    # Surge first, never drop below the current ready count during a release.
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = 0
    revision_history_limit: Int32 = Field(10, ge=1, le=100)
    progress_deadline_seconds: Int32 = Field(600, ge=60)


class TopologySpread(Model):
    topology_key: Literal["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    max_skew: Int32 = Field(1, ge=1)
    # Soft by default: a hard spread can leave a pod Pending while a node drains.
    when_unsatisfiable: Literal["ScheduleAnyway", "DoNotSchedule"] = "ScheduleAnyway"
