"""The operators the cluster must run, read from the cluster before anything is changed.

A preview does not prove them: pulumi-kubernetes skips the preview of a custom resource whose kind
or version the API server does not serve (provider/pkg/provider/provider.go, Create and Update:
`skipPreview := ... || !k.gvkExists(...)`) and echoes its inputs, so a cluster without External
Secrets `v1` (older than 0.16.2) or without the Prometheus Operator previews green and fails midway
through `up`, after the AWS side changed. A resource `get` runs during previews (pulumi
pkg/resource/deploy/step.go, ReadStep: "Read steps run during previews"), so the program reads each
CustomResourceDefinition it relies on and stops, naming what is missing. A definition that does not
exist at all fails the read itself (the engine: "resource '<name>' does not exist").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.apiextensions.v1 import CustomResourceDefinition

from settings.stack import StackSettings


@dataclass(frozen=True)
class Requirement:
    crd: str  # the definition's name: <plural>.<group>
    version: str  # the API version the program's objects use
    operator: str  # what to install, as docs/operating.md#what-the-cluster-must-run says


EXTERNAL_SECRETS = "External Secrets Operator 0.16.2 or newer (external-secrets.io/v1)"
PROMETHEUS_OPERATOR = "the Prometheus Operator (kube-prometheus-stack), for backend.metrics.podMonitor"


def requirements(settings: StackSettings) -> list[Requirement]:
    """Every definition the stack's custom resources need."""
    needed = [
        Requirement("externalsecrets.external-secrets.io", "v1", EXTERNAL_SECRETS),
        Requirement("secretstores.external-secrets.io", "v1", EXTERNAL_SECRETS),
    ]
    if settings.backend.metrics.pod_monitor.enabled:
        needed.append(Requirement("podmonitors.monitoring.coreos.com", "v1", PROMETHEUS_OPERATOR))
    return needed


def problems(needed: list[Requirement], specs: list[dict | None]) -> list[str]:
    """One line per definition that does not serve the version the program uses."""
    found = []
    for requirement, spec in zip(needed, specs, strict=True):
        versions = {v.get("name"): v for v in (spec or {}).get("versions") or []}
        served = sorted(name for name, v in versions.items() if v.get("served"))
        if not versions.get(requirement.version, {}).get("served"):
            found.append(
                f"{requirement.crd} serves {', '.join(served) or 'no version'}, not {requirement.version}: "
                f"install or upgrade {requirement.operator}"
            )
    return found


class ClusterOperators(pulumi.ComponentResource):
    """Reads the definitions; ``ready`` resolves once each serves its version, and raises
    ``pulumi.RunError`` otherwise. The AWS provider waits for it, so nothing changes before."""

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("reconciliation:cluster:ClusterOperators", name, None, opts)
        needed = requirements(settings)
        reads = [
            CustomResourceDefinition.get(f"{name}-{r.crd}", r.crd, opts=pulumi.ResourceOptions(parent=self))
            for r in needed
        ]
        context = settings.kubernetes.context

        def check(specs: list) -> ClusterOperators:
            lines = problems(needed, [_plain(spec) for spec in specs])
            if lines:
                header = f"the cluster of context '{context}' lacks what the stack's objects need:"
                raise pulumi.RunError("\n".join([header, *(f"  - {line}" for line in lines)]))
            return self

        self.ready: pulumi.Output = pulumi.Output.all(*[read.spec for read in reads]).apply(check)
        self.register_outputs({"definitions": [r.crd for r in needed]})


def _plain(spec: Any) -> dict | None:
    """The SDK's typed spec (or a plain dict under mocks) as a dict of versions."""
    if spec is None or isinstance(spec, dict):
        return spec
    return {"versions": [{"name": v.name, "served": v.served} for v in spec.versions or []]}
