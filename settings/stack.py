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
    """A Kubernetes minor version, quoted, such as "1.33"."""
    if isinstance(value, str) and _MINOR.fullmatch(value):
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    quote = " (quoted: YAML reads 1.30 as the number 1.3)" if number else ""
    raise ValueError(f'expected a Kubernetes minor version such as "1.33"{quote}')


def minor(version: str) -> int:
    """The minor number of ``1.N`` or ``v1.N``."""
    return int(version.rsplit(".", 1)[1])


class NetworkPolicy(Model):
    allowed_namespaces: tuple[DnsLabel, ...] = Field(
        min_length=1,
        description="The namespaces (by their `kubernetes.io/metadata.name` label) whose pods may reach the app port.",
    )


class Backend(Model):
    name: DnsName = Field(
        "reconciliation-backend",
        description="The backend's name: the default of every name under `backend.names`, the "
        "`app.kubernetes.io/name` label, and with the environment the instance label `<name>-<environment>`, "
        "at most 63 characters. An RFC 1035 name: the Service shares it, and Service names start with a letter.",
    )
    names: ObjectNames = Field(
        ObjectNames(),
        description="Each object's own name, so that a stack can match objects that already run; "
        "a name left unset is `backend.name`.",
    )
    selector: Selector | None = Field(
        None,
        description="The pods' selector (Deployment, Service, PodDisruptionBudget, NetworkPolicy, spread "
        "constraints); unset, the `app.kubernetes.io/name` and `app.kubernetes.io/instance` labels. It is added to "
        "every object's and the pods' labels next to the recommended `app.kubernetes.io/*` ones, so it must agree "
        "with them, and it may not use `app.kubernetes.io/version`: a live Deployment's selector never changes.",
    )
    image: Image = Field(description="The container image.")
    port: Int32 = Field(
        8000, ge=1024, le=65535, description="The container port, above 1023: the process runs unprivileged."
    )
    service_port: Int32 = Field(80, ge=1, le=65535, description="The Service's port in front of the container port.")
    env: dict[EnvName, Text] = Field(
        default_factory=dict,
        description="Plain environment variables of the container. Secrets never go here: they come from AWS "
        "Secrets Manager through External Secrets (`secrets.inventory`).",
    )
    resources: Resources = Field(description="The container's requests and limits.")
    probes: Probes = Field(Probes(), description="The startup, readiness and liveness probes of the health endpoint.")
    metrics: Metrics = Field(Metrics(), description="How Prometheus scrapes the backend's metrics.")
    autoscaling: Autoscaling = Field(description="The HorizontalPodAutoscaler.")
    disruption_budget: DisruptionBudget = Field(
        description="The PodDisruptionBudget: exactly one of `minAvailable` and `maxUnavailable`."
    )
    rollout: Rollout = Field(
        Rollout(), description="How a release replaces the pods (the Deployment's rolling update)."
    )
    security: PodSecurity = Field(PodSecurity(), description="The user, group and filesystem group the pods run as.")
    topology_spread: Annotated[
        tuple[TopologySpread, ...], each_once("topologyKey", key=lambda spread: spread.topology_key)
    ] = Field(
        (),
        description="How the pods spread over zones and nodes: one constraint per topology key. Production spreads "
        "over both, zones soft (`ScheduleAnyway`) and hosts hard (`DoNotSchedule`) with `maxSkew: 1`.",
    )
    termination: Termination = Field(Termination(), description="How a pod stops.")
    network_policy: NetworkPolicy = Field(description="The NetworkPolicy in front of the pods.")
    tmp_size_limit: Bytes = Field(
        "64Mi",
        description="The size of the pod's writable `/tmp` (an emptyDir), within `resources.limits.ephemeralStorage`.",
    )

    def object_name(self, key: str) -> str:
        """The name of the object ``key`` (a key of settings.objects.KINDS, not the Namespace)."""
        return getattr(self.names, to_snake(key)) or self.name


class ProviderBehavior(Model):
    """Every switch of the Kubernetes provider, always sent: one left unset is filled by the SDK
    from the operator's shell (PULUMI_K8S_*), so two people would deploy differently."""

    enable_server_side_apply: bool = Field(
        True,
        description="Apply server-side, which tracks field ownership so that no other manager's change is lost; "
        "`true` in production.",
    )
    delete_unreachable: bool = Field(
        False,
        description="Drop the resources of an unreachable cluster from the state; `false` in production.",
    )
    skip_update_unreachable: bool = Field(
        False, description="Skip updates while the cluster is unreachable; `false` in production."
    )
    upsert_existing_objects: bool = Field(
        False,
        description="Take over a live object of the same name on create; `false` in production, which adopts "
        "objects with `kubernetes.adopt` instead.",
    )
    enable_patch_force: bool = Field(
        False, description="Override other field managers' changes without a conflict; `false` in production."
    )
    enable_config_map_mutable: bool = Field(False, description="Update ConfigMaps in place instead of replacing them.")
    enable_secret_mutable: bool = Field(False, description="Update Secrets in place instead of replacing them.")
    suppress_deprecation_warnings: bool = Field(
        False, description="Hide the provider's warnings about deprecated API versions."
    )
    suppress_helm_hook_warnings: bool = Field(False, description="Hide the provider's warnings about Helm hooks.")


class Kubernetes(Model):
    context: Annotated[str, matching(_CONTEXT, "a kubeconfig context name: not empty, no surrounding spaces")] = Field(
        description="The kubeconfig context the provider always uses. Required: a stack names the cluster it "
        "deploys to, so the shell's current context never picks the target."
    )
    cluster_identifier: (
        Annotated[str, matching(_CONTEXT, "a cluster name or ARN: not empty, no surrounding spaces")] | None
    ) = Field(
        None,
        description="The provider's `clusterIdentifier`, the cluster's name or ARN; unset, the context. Only a "
        "change of it replaces the provider and with it every resource (named objects are deleted before they are "
        "recreated: an outage), so set it before the first `pulumi up` and never change it; a new kubeconfig or "
        "context name for the same cluster is then an update. Before an `up` that touches it, `pulumi preview "
        "--diff` must show the provider as `~` (update), not `+-` (replace). Required in production.",
    )
    version: Annotated[str, PlainValidator(_minor)] = Field(
        description="The cluster's minor version, quoted: it pins Pod Security, gates version-dependent features "
        "(the preStop `sleep` action from 1.30) and picks the schemas the manifests are checked against. At least "
        "1.27, where PodDisruptionBudget `unhealthyPodEvictionPolicy` and spread `matchLabelKeys` are on by "
        "default; older API servers drop them silently."
    )
    namespace: DnsLabel = Field(description="The namespace of every object of the backend.")
    create_namespace: bool = Field(
        True,
        description="Create the namespace, with Pod Security `restricted` enforced, audited and warned; refused for "
        "the namespaces Kubernetes reserves (`kube-*`, `default`).",
    )
    pod_security_version: (
        Annotated[str, matching(_PSA_VERSION, "latest or a Kubernetes minor such as v1.33")] | None
    ) = Field(
        None,
        description="The version of the Pod Security profile the namespace pins; unset, `v<kubernetes.version>`. "
        "From v1.25 (Pod Security stable) to the cluster's version, or `latest`: pinned, so a cluster upgrade never "
        "tightens admission under a running release, and never older, where the restricted profile is weaker.",
    )
    provider: ProviderBehavior = Field(
        ProviderBehavior(),
        description="Every switch of the Kubernetes provider, always sent as written: one left unset would be "
        "filled from the shell of whoever runs Pulumi (`PULUMI_K8S_*`), so two people would deploy differently.",
    )
    adopt: Adopted = Field(
        (),
        description="Live objects the next `pulumi up` imports instead of creating (`namespace` needs "
        "`createNamespace: true`). Remove them after the first successful `up` "
        "(docs/runbooks/adopt-running-platform.md).",
    )

    @property
    def pod_security(self) -> str:
        return self.pod_security_version or f"v{self.version}"

    @property
    def identifier(self) -> str:
        """The provider's clusterIdentifier: the setting, else the context."""
        return self.cluster_identifier or self.context


class StackSettings(Model):
    environment: DnsLabel = Field(
        description="The stack's name, which it must equal, so that a copied stack file cannot pose as another "
        "stack; part of the `app.kubernetes.io/instance` label and of the providers' and AWS resources' names."
    )
    production: bool = Field(
        description="Turns the production guardrails on (the rules of `settings/rules/production.py`). Required, "
        "so that they never switch off by omission."
    )
    kubernetes: Kubernetes = Field(description="The target cluster and the Kubernetes provider.")
    backend: Backend = Field(description="The backend's workload: its pods and the Kubernetes objects around them.")
    aws: Aws = Field(description="The AWS account and region the stack deploys into, and the cluster's identity there.")
    secrets: Secrets = Field(
        description="The backend's secrets in AWS Secrets Manager, and how External Secrets syncs them to the cluster."
    )
    grafana: Grafana = Field(
        description="The Grafana the stack deploys its dashboard, alert rules and contact point to."
    )
    capacity: Capacity = Field(
        Capacity(),
        description="What the capacity tools (the HPA simulator, rightsizing) assume: what a unit of load costs a "
        "pod, start-up times, prices. Not deployed.",
    )
    kubeconfig: SecretStr | None = Field(
        None,
        description="The kubeconfig file's contents, only as a Pulumi secret "
        "(`pulumi config set --secret kubeconfig < FILE`); a one-line value is taken for a path and refused, since a "
        "path in the state fails on every other machine. Unset, the provider loads `$KUBECONFIG` or `~/.kube/config` "
        "where it runs, and nothing is stored.",
    )
    grafana_auth: SecretStr | None = Field(
        None,
        description="Grafana's API token (a service account token; `user:password` for an organisation other than "
        "1), only as a Pulumi secret. Unset, the provider reads `GRAFANA_AUTH` from the shell of whoever runs it.",
    )
    grafana_slack_url: SecretStr | None = Field(
        None,
        description="The webhook URL of a `slack` contact point, only as a Pulumi secret; refused for other types.",
    )
    grafana_pagerduty_key: SecretStr | None = Field(
        None,
        description="The integration key of a `pagerduty` contact point, only as a Pulumi secret; refused for other "
        "types.",
    )

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
