"""Settings of the capacity tools (the HPA simulator): how the backend uses CPU and memory per unit
of load, how long a new pod takes to serve, and the controller's own timings. Not deployed."""

from __future__ import annotations

from pydantic import Field

from settings.base import Model


class LoadModel(Model):
    # A unit of load is one request per second. Per pod: usage = baseline + per-unit x its share.
    baseline_load: float = Field(40.0, ge=0)
    cpu_millicores_baseline: float = Field(20.0, ge=0)
    cpu_millicores_per_unit: float = Field(4.0, gt=0)
    memory_mib_baseline: float = Field(140.0, ge=0)
    memory_mib_per_unit: float = Field(0.5, ge=0)


class Prices(Model):
    """Unit prices of what a pod reserves (its requests), in US dollars. Defaults: AWS Fargate's
    on-demand list prices in us-east-1 (per vCPU-hour, per GB-hour, and storage per GB-hour), a
    stand-in until a stack sets its own; nothing is fetched."""

    cpu_core_hour: float = Field(0.04048, ge=0)
    memory_gib_hour: float = Field(0.004445, ge=0)
    ephemeral_storage_gib_hour: float = Field(0.000111, ge=0)


class Rightsizing(Model):
    # CPU request: this percentile of the per-pod usage samples; memory: the peak working set plus headroom.
    cpu_percentile: float = Field(0.95, gt=0, le=1)
    memory_headroom: float = Field(0.15, ge=0, le=2)
    # Fewer samples than this (per-pod samples every 15 s) is too little to recommend from.
    min_samples: int = Field(480, ge=1, strict=True)


class Capacity(Model):
    load: LoadModel = LoadModel()
    prices: Prices = Prices()
    rightsizing: Rightsizing = Rightsizing()
    # From a new pod's creation: pulling the image (no metrics yet), then starting until the
    # startup and readiness probes pass (metrics, not ready).
    image_pull_seconds: int = Field(20, ge=0, le=1800, strict=True)
    pod_startup_seconds: int = Field(45, ge=1, le=3600, strict=True)
    # kube-controller-manager's defaults (--horizontal-pod-autoscaler-*).
    sync_period_seconds: int = Field(15, ge=1, le=600, strict=True)
    tolerance: float = Field(0.1, ge=0, lt=1)
    cpu_initialization_seconds: int = Field(300, ge=0, strict=True)
    initial_readiness_delay_seconds: int = Field(30, ge=0, strict=True)
    # metrics-server's resolution: a sample covers this window.
    metric_window_seconds: int = Field(15, ge=1, strict=True)
