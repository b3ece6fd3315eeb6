"""The pod's settings (settings/workload.py): image, resources, probes, security, through the real
program (one exact line, nothing registered) and the settings layer."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import problems, refused, run_changed, validated

from offline.harness import PROJECT, stack_document

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES: dict[str, tuple[str, dict[str, Any], str]] = {
    "malformed cpu": (
        "dev",
        {"backend.resources.requests.cpu": "500x"},
        f'{NS}:backend.resources.requests.cpu = "500x": expected a non-negative Kubernetes quantity such as '
        "250m, 0.5, 512Mi or 1Gi",
    ),
    "negative memory": (
        "dev",
        {"backend.resources.limits.memory": "-1Gi"},
        f'{NS}:backend.resources.limits.memory = "-1Gi": expected a non-negative Kubernetes quantity such as '
        "250m, 0.5, 512Mi or 1Gi",
    ),
    "bad digest": (
        "dev",
        {"backend.image.digest": "sha256:abc"},
        f'{NS}:backend.image.digest = "sha256:abc": expected a digest such as sha256:<64 hex digits>',
    ),
    "root-range uid": (
        "dev",
        {"backend.security": {"runAsUser": 1000}},
        f"{NS}:backend.security.runAsUser = 1000: Input should be greater than or equal to 10001",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


# (stack, changes, every line expected: nothing more, nothing less)
REFUSED: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "the same pull secret twice": (
        "dev",
        {"backend.image.pullSecrets": ["regcred", "regcred"]},
        [f'{NS}:backend.image.pullSecrets = ["regcred", "regcred"]: each name may appear once, got regcred, regcred'],
    ),
    "a malformed pull secret": (
        "dev",
        {"backend.image.pullSecrets": ["Registry_Creds"]},
        [
            f'{NS}:backend.image.pullSecrets[0] = "Registry_Creds": expected an RFC 1123 subdomain: lower-case '
            "letters, digits, '-' and '.', 1-253 chars"
        ],
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_exactly_these_lines(case: str) -> None:
    stack, changes, expected = REFUSED[case]
    assert refused(stack, changes) == expected


def test_digest_pinned_image(stack: str) -> None:
    digest = "sha256:" + "ab" * 32
    settings, problems = validated(stack, {"backend.image.digest": digest, "backend.image.pullPolicy": "IfNotPresent"})
    assert problems == []
    tag = stack_document(stack)[f"{PROJECT}:backend"]["image"]["tag"]
    assert settings.backend.image.reference == f"{settings.backend.image.repository}:{tag}@{digest}"


def test_digest_only_image_gets_a_label_safe_version() -> None:
    digest = "sha256:" + "0f" * 32
    settings, _ = validated("dev", {"backend.image": {"repository": "ghcr.io/a/b", "digest": digest}})
    assert settings.backend.image.reference == f"ghcr.io/a/b@{digest}"
    assert settings.backend.image.version == "0f" * 6


def test_a_tag_written_as_a_decimal_number_is_refused_not_rounded() -> None:
    # `tag: 1.40` is the number 1.4 in YAML: reading it as text would deploy another image.
    _, problems = validated("dev", {"backend.image.tag": 1.4})
    assert problems == [f"{PROJECT}:backend.image.tag = 1.4: expected a string"]
