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
    repository: Annotated[str, matching(_REPOSITORY, "an image repository such as ghcr.io/acme/app")]
    tag: Annotated[Text, matching(_TAG, "an image tag such as 1.4.2")] | None = None
    digest: Annotated[str, matching(_DIGEST, "a digest such as sha256:<64 hex digits>")] | None = None
    # Always costs one registry round-trip per pod start and guarantees a re-pushed tag is
    # never served stale from a node's cache; IfNotPresent is safe only for a digest.
    pull_policy: Literal["Always", "IfNotPresent"] = "Always"
    # Secrets of type kubernetes.io/dockerconfigjson in the stack's namespace, for a private registry.
    pull_secrets: Annotated[tuple[DnsSubdomain, ...], each_once("name")] = ()

    @property
    def reference(self) -> str:
        ref = self.repository + (f":{self.tag}" if self.tag else "")
        return ref + (f"@{self.digest}" if self.digest else "")

    @property
    def version(self) -> str:
        """What app.kubernetes.io/version shows: the tag, else the digest's short form.

        Cut to a valid label value (63 chars, alphanumeric at both ends), as tags may be longer.
        """
        return (self.tag or self.digest.removeprefix("sha256:")[:12])[:63].strip("._-")


class Amounts(Model):
    cpu: CpuQuantity
    memory: MemoryBytes
    ephemeral_storage: Bytes


class Resources(Model):
    requests: Amounts
    limits: Amounts


class Probe(Model):
    initial_delay_seconds: Int32 = Field(0, ge=0)
    period_seconds: Int32 = Field(ge=1)
    timeout_seconds: Int32 = Field(ge=1)
    failure_threshold: Int32 = Field(ge=1)


class Probes(Model):
    """The backend serves one health endpoint; startup guards slow boots so liveness stays strict."""

    path: Annotated[str, matching(_PATH, "an absolute HTTP path such as /health")] = "/health"
    startup: Probe = Probe(periodSeconds=5, timeoutSeconds=2, failureThreshold=30)
    readiness: Probe = Probe(periodSeconds=10, timeoutSeconds=2, failureThreshold=3)
    liveness: Probe = Probe(periodSeconds=20, timeoutSeconds=2, failureThreshold=3)


class Metrics(Model):
    path: Annotated[str, matching(_PATH, "an absolute HTTP path such as /api/metrics")] = "/api/metrics"
    scrape: bool = True
    # Where Prometheus runs: with scrape on, the NetworkPolicy must admit it (settings.rules.cluster).
    prometheus_namespace: DnsLabel = "monitoring"
    pod_monitor: PodMonitor = PodMonitor()


class PodSecurity(Model):
    # Above 10000 so the uid never collides with a host user (checkov CKV_K8S_40, PSS guidance).
    run_as_user: Int32 = Field(10001, ge=10001)
    run_as_group: Int32 = Field(10001, ge=10001)
    fs_group: Int32 = Field(10001, ge=10001)


class Termination(Model):
    grace_period_seconds: Int32 = Field(30, ge=1, le=600)
    # Keeps serving while endpoints and load balancers drop the pod, before SIGTERM.
    pre_stop_sleep_seconds: Int32 = Field(5, ge=0)


EnvName = Annotated[str, matching(_ENV_NAME, "an environment variable name such as LOG_LEVEL")]
