"""Settings of the backend's Kubernetes objects' identity: their names, the pod selector, the
recommended labels, and which live objects a stack adopts instead of creating.

A running platform (prod) was deployed from a plain manifest before this program existed: its
names and its selector are what the live objects carry, and a selector is immutable, so both come
from settings rather than being derived, with the derived values as defaults for new stacks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from settings.base import DnsName, DnsSubdomain, LabelKey, LabelValue, Model, each_once

PART_OF = "reconciliation-platform"
# What manages every object and resource the stacks declare: a label in the cluster, a tag in AWS.
MANAGED_BY = "pulumi"
COMPONENT = "backend"
# The objects a stack declares, by the key used in `backend.names` and `kubernetes.adopt`, with
# their kind. The Namespace is named by `kubernetes.namespace`. ObjectKey: the same keys, in the
# same order, written out for the type checker (tests/settings/test_objects.py holds them equal).
ObjectKey = Literal[
    "namespace",
    "serviceAccount",
    "deployment",
    "service",
    "networkPolicy",
    "horizontalPodAutoscaler",
    "podDisruptionBudget",
]
KINDS = {
    "namespace": "Namespace",
    "serviceAccount": "ServiceAccount",
    "deployment": "Deployment",
    "service": "Service",
    "networkPolicy": "NetworkPolicy",
    "horizontalPodAutoscaler": "HorizontalPodAutoscaler",
    "podDisruptionBudget": "PodDisruptionBudget",
}


class ObjectNames(Model):
    """Each object's name; unset means `backend.name`. Service names are RFC 1035 labels (they
    are DNS names), Deployment names RFC 1035 too (they prefix pod names), the rest subdomains."""

    service_account: DnsSubdomain | None = Field(None, description="The pods' ServiceAccount's name.")
    deployment: DnsName | None = Field(None, description="The Deployment's name; it prefixes the pods' names.")
    service: DnsName | None = Field(None, description="The Service's name, which is its DNS name in the cluster.")
    network_policy: DnsSubdomain | None = Field(None, description="The NetworkPolicy's name.")
    horizontal_pod_autoscaler: DnsSubdomain | None = Field(None, description="The HorizontalPodAutoscaler's name.")
    pod_disruption_budget: DnsSubdomain | None = Field(None, description="The PodDisruptionBudget's name.")


Selector = Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]
Adopted = Annotated[tuple[ObjectKey, ...], each_once("object")]


def recommended_labels(name: str, environment: str, version: str) -> dict[str, str]:
    """Kubernetes' recommended labels of every object of the backend."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": f"{name}-{environment}",
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/version": version,
    }


def default_selector(name: str, environment: str) -> dict[str, str]:
    """The selector of a new stack: the two recommended labels that never change with a release."""
    labels = recommended_labels(name, environment, "")
    return {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
