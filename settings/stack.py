"""The whole stack's settings: one model per top-level config key of the project namespace.

Rules spanning sections (a budget against the replica count, production against the image)
are in ``settings.rules.workload``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, PlainValidator, SecretStr
from pydantic.alias_generators import to_snake

from settings.aws import Aws, Secrets
from settings.base import Bytes, DnsLabel, DnsName, Int32, Model, Text, each_once, matching
from settings.capacity import Capacity
from settings.objects import KINDS, Adopted, ObjectNames, Selector, default_selector, recommended_labels
from settings.observability import Grafana
from settings.scaling import Autoscaling, DisruptionBudget, Rollout, TopologySpread
from settings.workload import EnvName, Image, Metrics, PodSecurity, Probes, Resources, Termination

_PSA_VERSION = re.compile(r"latest|v1\.[0-9]{1,2}")
_CONTEXT = re.compile(r"\S(.{0,251}\S)?")
_MINOR = re.compile(r"1\.[0-9]{1,2}")


def _minor(value: object) -> str:
    if isinstance(value, str) and _MINOR.fullmatch(value):
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    quote = " (quoted: YAML reads 1.30 as the number 1.3)" if number else ""
    raise ValueError(f'expected a Kubernetes minor version such as "1.33"{quote}')


def minor(version: str) -> int:
    """The minor number of ``1.N`` or ``v1.N``."""
    return int(version.rsplit(".", 1)[1])


class NetworkPolicy(Model):
    # Namespaces (by their kubernetes.io/metadata.name label) allowed to reach the app port.
    allowed_namespaces: tuple[DnsLabel, ...] = Field(min_length=1)


class Backend(Model):
    # RFC 1035: the Service shares this name by default, and Service names start with a letter.
    # Also the app.kubernetes.io/name label.
    name: DnsName = "reconciliation-backend"
    # Per-object names (default: `name`), so a stack can match objects that already run.
    names: ObjectNames = ObjectNames()
    # The pods' selector (default: the name and instance labels). Immutable on a live Deployment.
    selector: Selector | None = None
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
    topology_spread: Annotated[
        tuple[TopologySpread, ...], each_once("topologyKey", key=lambda spread: spread.topology_key)
    ] = ()
    termination: Termination = Termination()
    network_policy: NetworkPolicy
    tmp_size_limit: Bytes = "64Mi"

    def object_name(self, key: str) -> str:
        """The name of the object ``key`` (a key of settings.objects.KINDS, not the Namespace)."""
        return getattr(self.names, to_snake(key)) or self.name


class ProviderBehavior(Model):
    """Every switch of the Kubernetes provider, always sent: one left unset is filled by the SDK
    from the operator's shell (PULUMI_K8S_*), so two people would deploy differently."""

    enable_server_side_apply: bool = True
    delete_unreachable: bool = False
    skip_update_unreachable: bool = False
    upsert_existing_objects: bool = False
    enable_patch_force: bool = False
    enable_config_map_mutable: bool = False
    enable_secret_mutable: bool = False
    suppress_deprecation_warnings: bool = False
    suppress_helm_hook_warnings: bool = False


class Kubernetes(Model):
    # Required, never defaulted: a stack must name the cluster it deploys to, so the ambient
    # kubectl context can never pick the target.
    context: Annotated[str, matching(_CONTEXT, "a kubeconfig context name: not empty, no surrounding spaces")]
    # What the provider's replacement follows (the context when unset): a new kubeconfig or
    # credentials for the same cluster update the provider instead of replacing every resource.
    cluster_identifier: (
        Annotated[str, matching(_CONTEXT, "a cluster name or ARN: not empty, no surrounding spaces")] | None
    ) = None
    # The cluster's minor version: the Pod Security pin, version-gated features, the schemas the
    # tests validate against.
    version: Annotated[str, PlainValidator(_minor)]
    namespace: DnsLabel
    create_namespace: bool = True
    # Pinned (default: the cluster's version), so a cluster upgrade never tightens the admission
    # profile under a running release.
    pod_security_version: (
        Annotated[str, matching(_PSA_VERSION, "latest or a Kubernetes minor such as v1.33")] | None
    ) = None
    provider: ProviderBehavior = ProviderBehavior()
    # Live objects the next `pulumi up` takes over (Pulumi's `import` option) instead of creating.
    adopt: Adopted = ()

    @property
    def pod_security(self) -> str:
        return self.pod_security_version or f"v{self.version}"

    @property
    def identifier(self) -> str:
        """The provider's clusterIdentifier: the setting, else the context."""
        return self.cluster_identifier or self.context


class StackSettings(Model):
    # Must equal the stack name (settings.rules): a copied stack file cannot pose as another stack.
    environment: DnsLabel
    # Required, never defaulted: production guardrails must not switch off by omission.
    production: bool
    kubernetes: Kubernetes
    backend: Backend
    aws: Aws
    secrets: Secrets
    grafana: Grafana
    # Only the capacity tools read it (capacity/): what a unit of load costs a pod, start-up times.
    capacity: Capacity = Capacity()
    # Whole kubeconfig, only ever as a Pulumi secret; unset means the local kubeconfig file.
    kubeconfig: SecretStr | None = None
    # Grafana's API token (service account token), only ever as a Pulumi secret; unset means the
    # provider reads GRAFANA_AUTH from the shell of whoever runs it (a credential, nothing else).
    grafana_auth: SecretStr | None = None
    # The contact point's webhook URL or integration key, by its type; only as Pulumi secrets.
    grafana_slack_url: SecretStr | None = None
    grafana_pagerduty_key: SecretStr | None = None

    @property
    def pod_selector(self) -> dict[str, str]:
        return dict(self.backend.selector or default_selector(self.backend.name, self.environment))

    @property
    def labels(self) -> dict[str, str]:
        """The recommended labels plus the selector: every object's labels and the pods'."""
        recommended = recommended_labels(self.backend.name, self.environment, self.backend.image.version)
        return {**recommended, **self.pod_selector}

    def object_name(self, key: str) -> str:
        return self.kubernetes.namespace if key == "namespace" else self.backend.object_name(key)

    def import_id(self, key: str) -> str | None:
        """Pulumi's import ID of ``key`` when the stack adopts it: the name of a Namespace,
        ``<namespace>/<name>`` of anything in one."""
        if key not in self.kubernetes.adopt:
            return None
        name = self.object_name(key)
        return name if KINDS[key] == "Namespace" else f"{self.kubernetes.namespace}/{name}"
