"""Turn captured registrations into deterministic files: kubectl-ready YAML and plain JSON."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import yaml

from offline.harness import Registration, Secret, Unknown

SECRET_MARK = "<secret>"
UNKNOWN_MARK = "<unknown: known after apply>"

# Helm's install order (helm/helm, pkg/release/v1/util/kind_sorter.go, InstallOrder), so
# `kubectl apply -f <dir>` (alphabetical) creates what others depend on first. Kinds Helm does
# not list (custom resources) come after all of these, as Helm installs them.
KIND_ORDER = (
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)


def marked(value: Any) -> Any:
    """Secrets and unknowns as visible markers; mapping keys sorted so output never reorders."""
    if isinstance(value, Secret):
        return SECRET_MARK
    if isinstance(value, Unknown):
        return UNKNOWN_MARK
    if isinstance(value, dict):
        return {k: marked(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [marked(v) for v in value]
    return value


def is_kubernetes(resource: Registration) -> bool:
    return resource.custom and resource.type.startswith("kubernetes:")


def manifest(resource: Registration) -> dict:
    body = marked(resource.inputs)
    head = {key: body.pop(key) for key in ("apiVersion", "kind", "metadata") if key in body}
    return {**head, **body}


def object_name(resource: Registration) -> str:
    """`namespace/name` of a Kubernetes object as its inputs declare it (`name` when cluster-scoped)."""
    metadata = marked(resource.inputs.get("metadata", {}))
    name = str(metadata.get("name", resource.name))
    return f"{metadata['namespace']}/{name}" if metadata.get("namespace") else name


def manifest_filename(resource: Registration) -> str:
    kind = resource.inputs.get("kind", "")
    order = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    name = marked(resource.inputs.get("metadata", {})).get("name", resource.name)
    return f"{order:02d}-{kind.lower()}-{_slug(str(name))}.yaml"


def resource_filename(resource: Registration) -> str:
    return f"{_slug(resource.type)}--{_slug(resource.name)}.json"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


if TYPE_CHECKING:
    _SafeDumper = yaml.SafeDumper  # what both classes offer
else:
    _SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when PyYAML has it


class _Dumper(_SafeDumper):
    """Block style, no aliases: what `kubectl get -o yaml` users read."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def _marker(value: Any) -> str:
    if isinstance(value, Secret):
        return SECRET_MARK
    if isinstance(value, Unknown):
        return UNKNOWN_MARK
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")  # json's own words


def to_json(document: Any) -> str:
    """Sorted keys, a two-space indent, UTF-8 as it is: a reviewer's diff of two renders is stable."""
    return json.dumps(document, default=_marker, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
