"""The explicit Kubernetes provider every Kubernetes resource of the stack goes through."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.provider import Provider

from settings.stack import StackSettings


def provider_inputs(settings: StackSettings) -> dict:
    """Every input that decides where and how the provider deploys, all set from the settings.

    The SDK fills any input left unset from the operator's shell (``KUBECONFIG``,
    ``PULUMI_K8S_*``): one person's file path would land in state and another's shell could turn
    on delete-unreachable or upsert. ``kubeconfig`` is the stack's secret, or ``""``: the
    provider then loads the kubeconfig the usual way (``$KUBECONFIG``, ``~/.kube/config``) on
    the machine that runs it, and no path is stored.
    """
    target = settings.kubernetes
    return {
        "context": target.context,
        "cluster_identifier": target.identifier,
        # Resources always name their namespace; this only catches one that would not.
        "namespace": target.namespace,
        "kubeconfig": pulumi.Output.secret(settings.kubeconfig.get_secret_value()) if settings.kubeconfig else "",
        **{name: getattr(target.provider, name) for name in type(target.provider).model_fields},
    }


def kubernetes_provider(settings: StackSettings) -> Provider:
    """Pin the stack's cluster: its context always, its kubeconfig when the stack holds one.

    Without an explicit provider Pulumi uses the ambient kubectl context, so whoever runs
    `pulumi up` could deploy prod's program into whatever cluster their shell points at.
    """
    return Provider(f"kubernetes-{settings.environment}", **provider_inputs(settings))
