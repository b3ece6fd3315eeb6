"""Settings of the backend's Kubernetes objects' identity: their names, the pod selector, the
recommended labels, and which live objects a stack adopts instead of creating.

A running platform (prod) was deployed from a plain manifest before this program existed: its
names and its selector are what the live objects carry, and a selector is immutable, so both come
from settings rather than being derived, with the derived values as defaults for new stacks.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from settings.base import DnsName, DnsSubdomain, Model, matching

# A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
_LABEL_KEY = re.compile(
    r"((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
LabelKey = Annotated[str, matching(_LABEL_KEY, "a label key such as app or app.kubernetes.io/name")]
LabelValue = Annotated[str, matching(_LABEL_VALUE, "a label value: at most 63 letters, digits, '-', '_' or '.'")]

PART_OF = "reconciliation-platform"
COMPONENT = "backend"
# The objects a stack declares, by the key used in `backend.names` and `kubernetes.adopt`, with
# their kind. The Namespace is named by `kubernetes.namespace`.
KINDS = {
    "namespace": "Namespace",
    "serviceAccount": "ServiceAccount",
    "deployment": "Deployment",
    "service": "Service",
    "networkPolicy": "NetworkPolicy",
    "horizontalPodAutoscaler": "HorizontalPodAutoscaler",
    "podDisruptionBudget": "PodDisruptionBudget",
}
ObjectKey = Literal[tuple(KINDS)]


class ObjectNames(Model):
    """Each object's name; unset means `backend.name`. Service names are RFC 1035 labels (they
    are DNS names), Deployment names RFC 1035 too (they prefix pod names), the rest subdomains."""

    service_account: DnsSubdomain | None = None
    deployment: DnsName | None = None
    service: DnsName | None = None
    network_policy: DnsSubdomain | None = None
    horizontal_pod_autoscaler: DnsSubdomain | None = None
    pod_disruption_budget: DnsSubdomain | None = None


def _each_once(keys: tuple[str, ...]) -> tuple[str, ...]:
    if len(keys) != len(set(keys)):
        raise ValueError(f"each object may appear once, got {', '.join(keys)}")
    return keys


Selector = Annotated[dict[LabelKey, LabelValue], Field(min_length=1)]
Adopted = Annotated[tuple[ObjectKey, ...], AfterValidator(_each_once)]


def recommended_labels(name: str, environment: str, version: str) -> dict[str, str]:
    """Kubernetes' recommended labels of every object of the backend."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": f"{name}-{environment}",
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/version": version,
    }


def default_selector(name: str, environment: str) -> dict[str, str]:
    """The selector of a new stack: the two recommended labels that never change with a release."""
    labels = recommended_labels(name, environment, "")
    return {key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
