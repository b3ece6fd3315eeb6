"""The backend workload: one component, every Kubernetes child parented to it."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler
from pulumi_kubernetes.core.v1 import Namespace, Service, ServiceAccount
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from components.kubernetes import manifests
from components.kubernetes.monitoring import pod_monitor
from components.kubernetes.secrets_sync import SecretsSync
from settings.stack import StackSettings

SERVER_ALLOCATED = ["spec.clusterIP", "spec.clusterIPs"]
# Each object after the ServiceAccount, by its settings key: builder and resource class.
_OBJECTS = (
    ("service", manifests.service, Service),
    ("networkPolicy", manifests.network_policy, NetworkPolicy),
    ("horizontalPodAutoscaler", manifests.horizontal_pod_autoscaler, HorizontalPodAutoscaler),
    ("podDisruptionBudget", manifests.pod_disruption_budget, PodDisruptionBudget),
)


class BackendService(pulumi.ComponentResource):
    """Namespace (optional), ServiceAccount, secrets sync, Deployment, Service, NetworkPolicy, HPA, PDB.

    An object the stack adopts (``kubernetes.adopt``) carries Pulumi's ``import`` option with its
    live ID, so the first `pulumi up` takes it over instead of creating a second one.
    """

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        secrets: pulumi.Resource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("reconciliation:backend:BackendService", name, None, opts)
        depends_on = []
        if settings.kubernetes.create_namespace:
            spec = manifests.namespace(settings)
            # Deleting the namespace deletes everything in it: production refuses without an
            # explicit `pulumi state unprotect`.
            namespace = Namespace(
                name,
                metadata=spec["metadata"],
                opts=self._options(settings, "namespace", protect=settings.production),
            )
            depends_on = [namespace]

        spec = manifests.service_account(settings)
        account = ServiceAccount(
            name,
            metadata=spec["metadata"],
            automount_service_account_token=spec["automountServiceAccountToken"],
            opts=self._options(settings, "serviceAccount", depends_on=depends_on),
        )
        # The pods read the synced Secret: it must exist (the ExternalSecret Ready) before a rollout.
        # And the sync waits for the AWS side (role, key, secrets), or External Secrets backs off
        # on errors for longer than the wait for Ready allows.
        after = [*depends_on, *([secrets] if secrets else [])]
        sync = SecretsSync(
            "secrets",
            settings,
            after=after,
            values_ready=getattr(secrets, "values_ready", None),
            opts=pulumi.ResourceOptions(parent=self),
        )
        spec = manifests.deployment(settings)
        self.deployment = Deployment(
            name,
            metadata=spec["metadata"],
            spec=spec["spec"],
            opts=self._options(settings, "deployment", depends_on=[*depends_on, account, sync.external_secret]),
        )
        for key, builder, kind in _OBJECTS:
            spec = builder(settings)
            opts = self._options(settings, key, depends_on)
            if kind is Service:
                # The API server allocates the cluster IP; the provider treats a change of it as
                # a replace, and an imported Service's stored inputs hold the live one.
                opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=SERVER_ALLOCATED))
            kind(name, metadata=spec["metadata"], spec=spec["spec"], opts=opts)
        monitor = pod_monitor(settings)
        if monitor is not None:
            CustomResource(
                name,
                api_version=monitor["apiVersion"],
                kind=monitor["kind"],
                metadata=monitor["metadata"],
                spec=monitor["spec"],
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or None),
            )

        self.namespace = settings.kubernetes.namespace
        self.deployment_name = settings.object_name("deployment")
        service = settings.object_name("service")
        self.service_url = f"http://{service}.{self.namespace}.svc.cluster.local:{settings.backend.service_port}"
        self.register_outputs(
            {
                "namespace": self.namespace,
                "deploymentName": self.deployment_name,
                "serviceUrl": self.service_url,
            }
        )

    def _options(
        self, settings: StackSettings, key: str, depends_on: list | None = None, protect: bool = False
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, depends_on=depends_on or None, protect=protect, import_=settings.import_id(key)
        )
