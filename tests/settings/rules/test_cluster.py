"""The rules about the target cluster (settings/rules/cluster.py), through the real program: its
version, its reserved namespaces, what must reach the pods, the kubeconfig's contents."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import refused, run_changed

NS = "reconciliation-platform"
# (stack, changes, every line expected: nothing more, nothing less)
REFUSED: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "creating kube-system (dev too)": (
        "dev",
        {"kubernetes.namespace": "kube-system"},
        [
            f"{NS}:kubernetes.createNamespace = true: Kubernetes owns 'kube-system' (names starting with kube- and "
            "default are reserved): set createNamespace: false, or better, deploy into a namespace of the backend's "
            "own"
        ],
    ),
    "creating default": (
        "prod",
        {"kubernetes.namespace": "default"},
        [
            f"{NS}:kubernetes.createNamespace = true: Kubernetes owns 'default' (names starting with kube- and "
            "default are reserved): set createNamespace: false, or better, deploy into a namespace of the backend's "
            "own"
        ],
    ),
    "scraping blocked by the NetworkPolicy": (
        "dev",
        {"backend.networkPolicy.allowedNamespaces": ["ingress-nginx"]},
        [
            f'{NS}:backend.metrics.prometheusNamespace = "monitoring": scraping is on, but the NetworkPolicy only '
            "admits ingress-nginx: add 'monitoring' to networkPolicy.allowedNamespaces, or set metrics.scrape: false"
        ],
    ),
    "Prometheus elsewhere than allowed": (
        "prod",
        {
            "backend.metrics": {"prometheusNamespace": "observability"},
            "backend.networkPolicy.allowedNamespaces": ["ingress-nginx", "monitoring"],
        },
        [
            f'{NS}:backend.metrics.prometheusNamespace = "observability": scraping is on, but the NetworkPolicy only '
            "admits ingress-nginx, monitoring: add 'observability' to networkPolicy.allowedNamespaces, or set "
            "metrics.scrape: false"
        ],
    ),
    "a Pod Security pin from before the capabilities check": (
        "prod",
        {"kubernetes.podSecurityVersion": "v1.0", "kubernetes.version": "1.33"},
        [
            f'{NS}:kubernetes.podSecurityVersion = "v1.0": from v1.25 (Pod Security Admission stable; older pins '
            "weaken the restricted profile) to the cluster's v1.33, or latest"
        ],
    ),
    "a Pod Security pin newer than the cluster": (
        "dev",
        {"kubernetes.podSecurityVersion": "v1.34", "kubernetes.version": "1.33"},
        [
            f'{NS}:kubernetes.podSecurityVersion = "v1.34": from v1.25 (Pod Security Admission stable; older pins '
            "weaken the restricted profile) to the cluster's v1.33, or latest"
        ],
    ),
    "the preStop sleep action on a 1.29 cluster": (
        "dev",
        {"kubernetes.version": "1.29", "backend.termination": {"gracePeriodSeconds": 20, "preStopSleepSeconds": 3}},
        [
            f"{NS}:backend.termination.preStopSleepSeconds = 3: the preStop sleep action needs Kubernetes >= 1.30 "
            "(kubernetes.version is 1.29); set 0 or upgrade the cluster"
        ],
    ),
    "a cluster older than the manifests": (
        "dev",
        {"kubernetes.version": "1.26", "backend.termination.preStopSleepSeconds": 0},
        [
            f'{NS}:kubernetes.version = "1.26": at least 1.27 (PodDisruptionBudget unhealthyPodEvictionPolicy and '
            "topologySpread matchLabelKeys are on by default from there; older API servers drop them silently)"
        ],
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_exactly_these_lines(case: str) -> None:
    stack, changes, expected = REFUSED[case]
    assert refused(stack, changes) == expected


def test_a_kubeconfig_path_is_refused_even_as_a_secret() -> None:
    from helpers import problems as lines_of

    from offline.harness import PROJECT, StackRun, stack_config

    config, secret_keys = stack_config("prod")
    config[f"{PROJECT}:kubeconfig"] = "/home/alice/.kube/config"
    assert lines_of(StackRun("prod", config, [*secret_keys, f"{PROJECT}:kubeconfig"])) == [
        f"{NS}:kubeconfig = [secret]: must be the kubeconfig file's contents (`pulumi config set --secret kubeconfig "
        "< FILE`), not a path"
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"kubernetes.podSecurityVersion": "latest"},
        {"kubernetes.podSecurityVersion": "v1.25"},
        {"kubernetes.namespace": "kube-system", "kubernetes.createNamespace": False, "kubernetes.adopt": []},
        {"backend.metrics": {"scrape": False, "prometheusNamespace": "elsewhere"}},
    ],
)
def test_production_accepts_what_keeps_its_promises(changes: dict) -> None:
    assert run_changed("prod", changes).execute().one("kubernetes:apps/v1:Deployment")
