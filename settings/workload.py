"""Settings of the pod itself: image, resources, probes, security, termination."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field

from settings.base import (
    Bytes,
    CpuQuantity,
    DnsLabel,
    DnsSubdomain,
    Int32,
    MemoryBytes,
    Model,
    Text,
    each_once,
    matching,
)
from settings.observability import PodMonitor

_REPOSITORY = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH = re.compile(r"/\S*")


class Image(Model):
    repository: Annotated[str, matching(_REPOSITORY, "an image repository such as ghcr.io/acme/app")] = Field(
        description="The image repository."
    )
    tag: Annotated[Text, matching(_TAG, "an image tag such as 1.4.2")] | None = Field(
        None,
        description="The image tag. A tag, a digest or both is required; production refuses `latest`.",
    )
    digest: Annotated[str, matching(_DIGEST, "a digest such as sha256:<64 hex digits>")] | None = Field(
        None, description="The image digest, appended to the reference as `repository:tag@digest`."
    )
    pull_policy: Literal["Always", "IfNotPresent"] = Field(
        "Always",
        description="`Always` costs one registry round-trip per pod start and guarantees that a re-pushed tag is "
        "never served stale from a node's cache; `IfNotPresent` is safe only for a digest, and needs one.",
    )
    pull_secrets: Annotated[tuple[DnsSubdomain, ...], each_once("name")] = Field(
        (),
        description="The pod's `imagePullSecrets`, for a private registry: Secrets of type "
        "`kubernetes.io/dockerconfigjson` in the stack's namespace, created out of band.",
    )

    @property
    def reference(self) -> str:
        ref = self.repository + (f":{self.tag}" if self.tag else "")
        return ref + (f"@{self.digest}" if self.digest else "")

    @property
    def version(self) -> str:
        """What app.kubernetes.io/version shows: the tag, else the digest's short form.

        Cut to a valid label value (63 chars, alphanumeric at both ends), as tags may be longer.
        """
        # Neither set is refused (settings/rules/workload.py, image_is_pinned); it would show "".
        return (self.tag or (self.digest or "").removeprefix("sha256:")[:12])[:63].strip("._-")


class Amounts(Model):
    cpu: CpuQuantity = Field(description="CPU, such as `100m`, `0.5` or `2` (cores).")
    memory: MemoryBytes = Field(description="Memory, such as `128Mi` or `1Gi`.")
    ephemeral_storage: Bytes = Field(
        description="Local ephemeral storage (the container's writable layer, logs, `/tmp`), such as `512Mi`."
    )


class Resources(Model):
    requests: Amounts = Field(
        description="What the scheduler reserves for each pod, and what the autoscaling targets are a percentage "
        "of; each at most its limit."
    )
    limits: Amounts = Field(
        description="The most each pod may use: above its CPU limit it is throttled, above its memory limit killed."
    )


class Probe(Model):
    initial_delay_seconds: Int32 = Field(0, ge=0, description="Seconds from the container's start to the first probe.")
    period_seconds: Int32 = Field(ge=1, description="Seconds from one probe to the next.")
    timeout_seconds: Int32 = Field(
        ge=1,
        description="Seconds a probe may take before it fails; less than `periodSeconds`, so that probes never "
        "overlap.",
    )
    failure_threshold: Int32 = Field(
        ge=1,
        description="Failed probes in a row before the kubelet acts: a failed startup or liveness probe restarts "
        "the container, a failed readiness probe takes the pod out of the Service.",
    )


class Probes(Model):
    """The backend serves one health endpoint; startup guards slow boots so liveness stays strict."""

    path: Annotated[str, matching(_PATH, "an absolute HTTP path such as /health")] = Field(
        "/health", description="The health endpoint all three probes request, on the container's port."
    )
    startup: Probe = Field(
        Probe(periodSeconds=5, timeoutSeconds=2, failureThreshold=30),
        description="Guards a slow boot: the other two probes start once it passes, so liveness can stay strict.",
    )
    readiness: Probe = Field(
        Probe(periodSeconds=10, timeoutSeconds=2, failureThreshold=3),
        description="Whether the pod receives traffic through the Service.",
    )
    liveness: Probe = Field(
        Probe(periodSeconds=20, timeoutSeconds=2, failureThreshold=3),
        description="Whether the container still works, or is restarted.",
    )


class Metrics(Model):
    path: Annotated[str, matching(_PATH, "an absolute HTTP path such as /api/metrics")] = Field(
        "/api/metrics", description="The metrics endpoint, named in the pods' Prometheus scrape annotations."
    )
    scrape: bool = Field(True, description="Whether Prometheus scrapes the pods; `false` drops the annotations.")
    prometheus_namespace: DnsLabel = Field(
        "monitoring",
        description="The namespace Prometheus scrapes from. With scraping on it must be in "
        "`backend.networkPolicy.allowedNamespaces`, or the NetworkPolicy silently blocks the scrape.",
    )
    pod_monitor: PodMonitor = Field(
        PodMonitor(),
        description="A Prometheus Operator PodMonitor, for clusters whose Prometheus ignores the annotations.",
    )


class PodSecurity(Model):
    # Above 10000 so the uid never collides with a host user (checkov CKV_K8S_40, PSS guidance).
    run_as_user: Int32 = Field(
        10001, ge=10001, description="The user the containers run as; above 10000, never a host's user."
    )
    run_as_group: Int32 = Field(10001, ge=10001, description="The primary group the containers run as.")
    fs_group: Int32 = Field(10001, ge=10001, description="The group that owns the pod's volumes.")


class Termination(Model):
    grace_period_seconds: Int32 = Field(
        30,
        ge=1,
        le=600,
        description="Seconds from the start of a pod's termination (its preStop sleep, then SIGTERM) until it is "
        "killed; production leaves the app at least 10 s after the sleep to finish in-flight requests.",
    )
    pre_stop_sleep_seconds: Int32 = Field(
        5,
        ge=0,
        description="Seconds a stopping pod keeps serving before SIGTERM, while endpoints and load balancers drop "
        "it; less than the grace period, `0` for no preStop hook. Above 0 it needs Kubernetes 1.30 (the kubelet's "
        "`sleep` action); production sleeps at least 5.",
    )


EnvName = Annotated[str, matching(_ENV_NAME, "an environment variable name such as LOG_LEVEL")]
