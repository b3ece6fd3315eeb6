"""Reconciliation platform backend: load the stack's settings, build the components, export."""

import gc

import pulumi

from components.backend_service import BackendService
from components.provider import kubernetes_provider
from settings.loader import load_settings

# The SDK's import leaves some 100,000 long-lived objects: freezing them keeps every later full
# garbage collection from scanning them again while resources register (a short-lived process,
# so nothing frozen ever needed collecting). Measured in README.md, "Performance".
gc.freeze()

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
