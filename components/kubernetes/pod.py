"""Pure builder of the backend's pod template: hardened, probed, sized, spread."""

from __future__ import annotations

from components.kubernetes import external_secrets
from settings.stack import StackSettings
from settings.workload import Amounts, Probe

CONTAINER = "backend"
PORT_NAME = "http"
TMP_VOLUME = "tmp"


def _probe(probe: Probe, path: str) -> dict:
    return {"httpGet": {"path": path, "port": PORT_NAME}, **probe.model_dump(by_alias=True)}


def _amounts(amounts: Amounts) -> dict:
    # ephemeral-storage is hyphenated on the wire, unlike every other key of the settings.
    return {"cpu": amounts.cpu, "memory": amounts.memory, "ephemeral-storage": amounts.ephemeral_storage}


def container(settings: StackSettings) -> dict:
    backend = settings.backend
    spec = {
        "name": CONTAINER,
        "image": backend.image.reference,
        "imagePullPolicy": backend.image.pull_policy,
        "ports": [{"name": PORT_NAME, "containerPort": backend.port, "protocol": "TCP"}],
        "env": [
            *({"name": name, "value": value} for name, value in sorted(backend.env.items())),
            *external_secrets.secret_env(settings),
        ],
        "resources": {
            "requests": _amounts(backend.resources.requests),
            "limits": _amounts(backend.resources.limits),
        },
        "startupProbe": _probe(backend.probes.startup, backend.probes.path),
        "readinessProbe": _probe(backend.probes.readiness, backend.probes.path),
        "livenessProbe": _probe(backend.probes.liveness, backend.probes.path),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": backend.security.run_as_user,
            "runAsGroup": backend.security.run_as_group,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}],
    }
    if not spec["env"]:
        del spec["env"]
    if backend.termination.pre_stop_sleep_seconds:
        # The kubelet's own sleep action (Kubernetes >= 1.30): no shell needed in the image.
        spec["lifecycle"] = {"preStop": {"sleep": {"seconds": backend.termination.pre_stop_sleep_seconds}}}
    return spec


def _spread(settings: StackSettings, selector: dict) -> list[dict]:
    return [
        {
            "topologyKey": spread.topology_key,
            "maxSkew": spread.max_skew,
            "whenUnsatisfiable": spread.when_unsatisfiable,
            "labelSelector": {"matchLabels": selector},
            # Count only the current ReplicaSet's pods, so a rollout is not skewed by old ones.
            "matchLabelKeys": ["pod-template-hash"],
            # Cordoned (draining) nodes are left out of the skew, so a drain never strands a pod.
            "nodeTaintsPolicy": "Honor",
        }
        for spread in settings.backend.topology_spread
    ]


def pod_template(settings: StackSettings, labels: dict, selector: dict) -> dict:
    backend = settings.backend
    annotations = {}
    if backend.metrics.scrape:
        annotations = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(backend.port),
            "prometheus.io/path": backend.metrics.path,
        }
    spec = {
        "serviceAccountName": backend.object_name("serviceAccount"),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": backend.termination.grace_period_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": backend.security.run_as_user,
            "runAsGroup": backend.security.run_as_group,
            "fsGroup": backend.security.fs_group,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container(settings)],
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": backend.tmp_size_limit}}],
    }
    if backend.image.pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in backend.image.pull_secrets]
    spread = _spread(settings, selector)
    if spread:
        spec["topologySpreadConstraints"] = spread
    metadata = {"labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": spec}
