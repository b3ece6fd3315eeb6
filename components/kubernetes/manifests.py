"""Pure builders of the backend's Kubernetes manifests, as kubectl would read them.

Each function returns a complete manifest (apiVersion, kind, metadata, spec) computed only from
the settings, so it can be unit-tested and schema-validated without Pulumi; the component hands
``metadata`` and ``spec`` to the matching Pulumi resource unchanged.
"""

from __future__ import annotations

from components.kubernetes import external_secrets
from components.kubernetes.pod import PORT_NAME, pod_template
from settings.objects import KINDS, MANAGED_BY, PART_OF
from settings.stack import StackSettings

# Adopted objects were applied by another field manager (kubectl): the first server-side apply
# takes over the fields this program sets instead of failing on a conflict. Only while adopting.
PATCH_FORCE = "pulumi.com/patchForce"
RELOAD = "secret.reloader.stakater.com/reload"


def checkov_skips(settings: StackSettings, kind: str) -> list[str]:
    """checkov checks that do not apply here, each with the reason a reviewer would ask for.

    checkov reads them from annotations, so the reason travels with the resource it concerns.
    """
    if kind != "Deployment":
        return []
    image = settings.backend.image
    if image.digest:
        # Settings allow IfNotPresent only with a digest: a node can never run another image.
        cached = ["CKV_K8S_15=Image pinned by digest, so IfNotPresent cannot run a stale image"]
        pinning = cached if image.pull_policy == "IfNotPresent" else []
    else:
        pinning = ["CKV_K8S_43=Image pinned by an immutable release tag and pulled Always; digest is optional"]
    # The backend reads its configuration from environment variables (the proposal's contract).
    env_secrets = "CKV_K8S_35=The app reads secrets from env; rotation restarts pods via Reloader"
    return [*pinning, env_secrets]


def selector(settings: StackSettings) -> dict:
    """The pods' identity: stable for the Deployment's life, since a selector is immutable."""
    return settings.pod_selector


def labels(settings: StackSettings) -> dict:
    """Kubernetes' recommended labels plus the selector: what only describes the release too."""
    return settings.labels


def _metadata(settings: StackSettings, key: str) -> dict:
    kind = KINDS[key]
    metadata = {
        "name": settings.object_name(key),
        "namespace": settings.kubernetes.namespace,
        "labels": labels(settings),
    }
    annotations = {f"checkov.io/skip{i}": skip for i, skip in enumerate(checkov_skips(settings, kind), 1)}
    if kind == "Deployment":
        # Env vars never change in a running pod: Stakater Reloader rolls the Deployment when
        # External Secrets writes a rotated value into the Secret (a cluster prerequisite).
        annotations[RELOAD] = ",".join(external_secrets.synced_secret_names(settings))
    if settings.import_id(key):
        annotations[PATCH_FORCE] = "true"
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def namespace(settings: StackSettings) -> dict:
    # Pod Security Admission refuses any pod below the restricted profile in this namespace.
    version = settings.kubernetes.pod_security
    psa = {}
    for mode in ("enforce", "audit", "warn"):
        psa[f"pod-security.kubernetes.io/{mode}"] = "restricted"
        psa[f"pod-security.kubernetes.io/{mode}-version"] = version
    meta_labels = {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": MANAGED_BY, **psa}
    metadata = {"name": settings.kubernetes.namespace, "labels": meta_labels}
    if settings.import_id("namespace"):
        metadata["annotations"] = {PATCH_FORCE: "true"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def service_account(settings: StackSettings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(settings, "serviceAccount"),
        # The backend never calls the Kubernetes API: no token in the pod.
        "automountServiceAccountToken": False,
    }


def deployment(settings: StackSettings) -> dict:
    rollout = settings.backend.rollout
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(settings, "deployment"),
        # No `replicas`: the HorizontalPodAutoscaler owns the count, and a value here would
        # reset it on every update.
        "spec": {
            "selector": {"matchLabels": selector(settings)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": rollout.max_surge, "maxUnavailable": rollout.max_unavailable},
            },
            "revisionHistoryLimit": rollout.revision_history_limit,
            "progressDeadlineSeconds": rollout.progress_deadline_seconds,
            "template": pod_template(settings, labels(settings), selector(settings)),
        },
    }


def service(settings: StackSettings) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(settings, "service"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(settings),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": settings.backend.service_port,
                    # The number, not the port's name: pods that run before this program (an
                    # adopted platform, a rollback) may not name their port, and a Service
                    # pointing at a name they lack has no endpoints.
                    "targetPort": settings.backend.port,
                    "protocol": "TCP",
                }
            ],
        },
    }


def network_policy(settings: StackSettings) -> dict:
    allowed = list(settings.backend.network_policy.allowed_namespaces)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(settings, "networkPolicy"),
        "spec": {
            "podSelector": {"matchLabels": selector(settings)},
            # Ingress only: egress (database, cache, AWS APIs) is left open on purpose until
            # their addresses are settings too.
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchExpressions": [
                                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": allowed}
                                ]
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": settings.backend.port}],
                }
            ],
        },
    }


def _utilization(resource: str, percent: int) -> dict:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
    }


def horizontal_pod_autoscaler(settings: StackSettings) -> dict:
    scaling = settings.backend.autoscaling
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _metadata(settings, "horizontalPodAutoscaler"),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": settings.object_name("deployment"),
            },
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                _utilization("cpu", scaling.target_cpu_utilization),
                _utilization("memory", scaling.target_memory_utilization),
            ],
            "behavior": scaling.behavior.model_dump(by_alias=True, mode="json"),
        },
    }


def pod_disruption_budget(settings: StackSettings) -> dict:
    budget = settings.backend.disruption_budget.model_dump(by_alias=True, exclude_none=True)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(settings, "podDisruptionBudget"),
        "spec": {
            "selector": {"matchLabels": selector(settings)},
            **budget,
            # A crash-looping pod must never hold a node drain hostage.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }
