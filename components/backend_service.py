"""The backend workload: one component, every Kubernetes child parented to it."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.apps.v1 import Deployment
from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscaler
from pulumi_kubernetes.core.v1 import Namespace, Service, ServiceAccount
from pulumi_kubernetes.networking.v1 import NetworkPolicy
from pulumi_kubernetes.policy.v1 import PodDisruptionBudget

from components import manifests
from settings.stack import StackSettings


class BackendService(pulumi.ComponentResource):
    """Namespace (optional), ServiceAccount, Deployment, Service, NetworkPolicy, HPA and PDB."""

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("reconciliation:backend:BackendService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        in_namespace = child
        if settings.kubernetes.create_namespace:
            spec = manifests.namespace(settings)
            # Deleting the namespace deletes everything in it: production refuses without an
            # explicit `pulumi state unprotect`.
            namespace = Namespace(
                name,
                metadata=spec["metadata"],
                opts=pulumi.ResourceOptions(parent=self, protect=settings.production),
            )
            in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])

        spec = manifests.service_account(settings)
        account = ServiceAccount(
            name,
            metadata=spec["metadata"],
            automount_service_account_token=spec["automountServiceAccountToken"],
            opts=in_namespace,
        )
        spec = manifests.deployment(settings)
        self.deployment = Deployment(
            name,
            metadata=spec["metadata"],
            spec=spec["spec"],
            opts=pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[account])),
        )
        for builder, kind in (
            (manifests.service, Service),
            (manifests.network_policy, NetworkPolicy),
            (manifests.horizontal_pod_autoscaler, HorizontalPodAutoscaler),
            (manifests.pod_disruption_budget, PodDisruptionBudget),
        ):
            spec = builder(settings)
            kind(name, metadata=spec["metadata"], spec=spec["spec"], opts=in_namespace)

        self.namespace = settings.kubernetes.namespace
        self.deployment_name = settings.backend.name
        backend = settings.backend
        self.service_url = f"http://{backend.name}.{self.namespace}.svc.cluster.local:{backend.service_port}"
        self.register_outputs(
            {
                "namespace": self.namespace,
                "deploymentName": self.deployment_name,
                "serviceUrl": self.service_url,
            }
        )
