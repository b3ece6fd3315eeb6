"""Reconciliation platform backend: load the stack's settings, build the components, export."""

import pulumi

from components.backend_service import BackendService
from components.provider import kubernetes_provider
from settings.loader import load_settings

settings = load_settings()
cluster = kubernetes_provider(settings)
backend = BackendService(
    "backend",
    settings,
    opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
)

pulumi.export("environment", settings.environment)
pulumi.export("kubeContext", settings.kubernetes.context)
pulumi.export("namespace", backend.namespace)
pulumi.export("deploymentName", backend.deployment_name)
pulumi.export("image", settings.backend.image.reference)
pulumi.export("serviceUrl", backend.service_url)
