"""The explicit Kubernetes provider every Kubernetes resource of the stack goes through."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.provider import Provider

from settings.stack import StackSettings


def kubernetes_provider(settings: StackSettings) -> Provider:
    """Pin the stack's cluster: its context always, its kubeconfig when the stack holds one.

    Without an explicit provider Pulumi uses the ambient kubectl context, so whoever runs
    `pulumi up` could deploy prod's program into whatever cluster their shell points at.
    """
    kubeconfig = settings.kubeconfig
    return Provider(
        f"kubernetes-{settings.environment}",
        context=settings.kubernetes.context,
        kubeconfig=pulumi.Output.secret(kubeconfig.get_secret_value()) if kubeconfig else None,
    )
