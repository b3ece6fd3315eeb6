"""Settings of the capacity tools (the HPA simulator): how the backend uses CPU and memory per unit
of load, how long a new pod takes to serve, and the controller's own timings. Not deployed."""

from __future__ import annotations

from pydantic import Field

from settings.base import Model


class LoadModel(Model):
    """A unit of load is one request per second. Per pod: usage = baseline + per unit x its share."""

    baseline_load: float = Field(
        40.0, ge=0, description="The load (requests per second) the simulator's scenarios start from."
    )
    cpu_millicores_baseline: float = Field(20.0, ge=0, description="A pod's CPU use without load, in millicores.")
    cpu_millicores_per_unit: float = Field(4.0, gt=0, description="A pod's CPU use per unit of its share of the load.")
    memory_mib_baseline: float = Field(140.0, ge=0, description="A pod's memory use without load, in MiB.")
    memory_mib_per_unit: float = Field(0.5, ge=0, description="A pod's memory use per unit of its share of the load.")


class Prices(Model):
    """Unit prices of what a pod reserves (its requests), in US dollars. Defaults: AWS Fargate's
    on-demand list prices in us-east-1 (per vCPU-hour, per GB-hour, and storage per GB-hour), a
    stand-in until a stack sets its own; nothing is fetched."""

    cpu_core_hour: float = Field(0.04048, ge=0, description="Per CPU core and hour.")
    memory_gib_hour: float = Field(0.004445, ge=0, description="Per GiB of memory and hour.")
    ephemeral_storage_gib_hour: float = Field(0.000111, ge=0, description="Per GiB of ephemeral storage and hour.")


class Rightsizing(Model):
    cpu_percentile: float = Field(
        0.95, gt=0, le=1, description="The CPU request recommended: this percentile of the per-pod usage samples."
    )
    memory_headroom: float = Field(
        0.15, ge=0, le=2, description="The memory request recommended: the peak working set and this share more."
    )
    min_samples: int = Field(
        480,
        ge=1,
        strict=True,
        description="The fewest per-pod samples (one every 15 s) a recommendation is made from.",
    )


class Capacity(Model):
    load: LoadModel = Field(LoadModel(), description="What a unit of load costs a pod.")
    prices: Prices = Field(Prices(), description="US dollars per reserved unit and hour, for the monthly cost range.")
    rightsizing: Rightsizing = Field(
        Rightsizing(), description="How `capacity rightsize` recommends requests, and from how much data."
    )
    image_pull_seconds: int = Field(
        20,
        ge=0,
        le=1800,
        strict=True,
        description="Seconds a new pod pulls its image, without metrics.",
    )
    pod_startup_seconds: int = Field(
        45,
        ge=1,
        le=3600,
        strict=True,
        description="Seconds from the pulled image until the startup and readiness probes pass (metrics, not ready).",
    )
    # kube-controller-manager's defaults (--horizontal-pod-autoscaler-*).
    sync_period_seconds: int = Field(
        15,
        ge=1,
        le=600,
        strict=True,
        description="The HPA controller's sync period (`--horizontal-pod-autoscaler-sync-period`).",
    )
    tolerance: float = Field(
        0.1,
        ge=0,
        lt=1,
        description="How far usage may stray from the target, as a ratio, before the HPA scales "
        "(`--horizontal-pod-autoscaler-tolerance`).",
    )
    cpu_initialization_seconds: int = Field(
        300,
        ge=0,
        strict=True,
        description="Seconds after a pod's start during which the HPA skips its CPU samples unless it is ready "
        "(`--horizontal-pod-autoscaler-cpu-initialization-period`).",
    )
    initial_readiness_delay_seconds: int = Field(
        30,
        ge=0,
        strict=True,
        description="Seconds after a pod's start during which a change of its readiness counts as its first "
        "(`--horizontal-pod-autoscaler-initial-readiness-delay`).",
    )
    metric_window_seconds: int = Field(
        15, ge=1, strict=True, description="metrics-server's resolution: the window one sample covers."
    )
