"""The whole stack's settings: one model per top-level config key of the project namespace.

Rules spanning sections (a budget against the replica count, production against the image)
are in ``settings.rules``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, SecretStr

from settings.base import Bytes, DnsLabel, DnsName, Int32, Model, Text, matching
from settings.scaling import Autoscaling, DisruptionBudget, Rollout, TopologySpread
from settings.workload import EnvName, Image, Metrics, PodSecurity, Probes, Resources, Termination

_PSA_VERSION = re.compile(r"latest|v1\.[0-9]{1,2}")
_CONTEXT = re.compile(r"\S(.{0,251}\S)?")


def _one_per_key(spreads: tuple[TopologySpread, ...]) -> tuple[TopologySpread, ...]:
    keys = [spread.topology_key for spread in spreads]
    if len(keys) != len(set(keys)):
        raise ValueError(f"each topologyKey may appear once, got {', '.join(keys)}")
    return spreads


class NetworkPolicy(Model):
    # Namespaces (by their kubernetes.io/metadata.name label) allowed to reach the app port.
    allowed_namespaces: tuple[DnsLabel, ...] = Field(min_length=1)


class Backend(Model):
    # RFC 1035: the Service shares this name, and Service names must start with a letter.
    name: DnsName = "reconciliation-backend"
    image: Image
    # Container port: above 1023 because the process runs unprivileged.
    port: Int32 = Field(8000, ge=1024, le=65535)
    service_port: Int32 = Field(80, ge=1, le=65535)
    env: dict[EnvName, Text] = Field(default_factory=dict)
    resources: Resources
    probes: Probes = Probes()
    metrics: Metrics = Metrics()
    autoscaling: Autoscaling
    disruption_budget: DisruptionBudget
    rollout: Rollout = Rollout()
    security: PodSecurity = PodSecurity()
    topology_spread: Annotated[tuple[TopologySpread, ...], AfterValidator(_one_per_key)] = ()
    termination: Termination = Termination()
    network_policy: NetworkPolicy
    tmp_size_limit: Bytes = "64Mi"


class Kubernetes(Model):
    # Required, never defaulted: a stack must name the cluster it deploys to, so the ambient
    # kubectl context can never pick the target.
    context: Annotated[str, matching(_CONTEXT, "a kubeconfig context name (no surrounding spaces)")]
    namespace: DnsLabel
    create_namespace: bool = True
    # Pinned, so a cluster upgrade never tightens the admission profile under a running release.
    pod_security_version: Annotated[str, matching(_PSA_VERSION, "latest or a Kubernetes minor such as v1.33")] = "v1.33"


class StackSettings(Model):
    # Must equal the stack name (settings.rules): a copied stack file cannot pose as another stack.
    environment: DnsLabel
    # Required, never defaulted: production guardrails must not switch off by omission.
    production: bool
    kubernetes: Kubernetes
    backend: Backend
    # Whole kubeconfig, only ever as a Pulumi secret; unset means the local kubeconfig file.
    kubeconfig: SecretStr | None = None
