"""The whole stack's models (settings/stack.py): the backend's and the cluster's keys, required
keys, and the Pod Security version that follows the cluster unless pinned."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import DELETE, problems, refused, run_changed, validated

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES: dict[str, tuple[str, dict[str, Any], str]] = {
    "missing context": (
        "prod",
        {"kubernetes.context": DELETE},
        f"{NS}:kubernetes.context = (not set): required key is missing",
    ),
    "missing backend": ("dev", {"backend": DELETE}, f"{NS}:backend = (not set): required key is missing"),
    "duplicate spread key": (
        "prod",
        {"backend.topologySpread": [{"topologyKey": "kubernetes.io/hostname"}] * 2},
        f'{NS}:backend.topologySpread = [{{"topologyKey": "kubernetes.io/hostname"}}, {{"topologyKey": '
        '"kubernetes.io/hostname"}]: each topologyKey may appear once, got kubernetes.io/hostname, '
        "kubernetes.io/hostname",
    ),
    "privileged port": (
        "dev",
        {"backend.port": 80},
        f"{NS}:backend.port = 80: Input should be greater than or equal to 1024",
    ),
    "bad namespace name": (
        "dev",
        {"kubernetes.namespace": "Recon_NS"},
        f'{NS}:kubernetes.namespace = "Recon_NS": expected an RFC 1123 label: lower-case letters, digits and '
        "'-', 1-63 chars",
    ),
    "no ingress namespaces": (
        "dev",
        {"backend.networkPolicy.allowedNamespaces": []},
        f"{NS}:backend.networkPolicy.allowedNamespaces = []: List should have at least 1 item after validation, not 0",
    ),
    "bad env name": (
        "dev",
        {"backend.env": {"LOG-LEVEL": "x"}},
        f'{NS}:backend.env.LOG-LEVEL = "LOG-LEVEL": expected an environment variable name such as LOG_LEVEL',
    ),
    "production flag not a boolean": (
        "prod",
        {"production": "yes please"},
        f'{NS}:production = "yes please": expected true or false',
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


# (stack, changes, every line expected: nothing more, nothing less)
REFUSED: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "a version YAML read as a number": (
        "prod",
        {"kubernetes.version": 1.3},
        [
            f'{NS}:kubernetes.version = 1.3: expected a Kubernetes minor version such as "1.33" (quoted: YAML reads '
            "1.30 as the number 1.3)"
        ],
    ),
    "no version": (
        "dev",
        {"kubernetes.version": "DELETE"},
        [f"{NS}:kubernetes.version = (not set): required key is missing"],
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_exactly_these_lines(case: str) -> None:
    stack, changes, expected = REFUSED[case]
    assert refused(stack, changes) == expected


def test_pod_security_follows_the_cluster_version_unless_pinned() -> None:
    settings, _ = validated("dev", {"kubernetes.version": "1.31"})
    assert settings.kubernetes.pod_security == "v1.31"
    settings, _ = validated("dev", {"kubernetes.podSecurityVersion": "v1.30"})
    assert settings.kubernetes.pod_security == "v1.30"
