"""The settings layer on its own: quantities, defaults, and the report, without Pulumi."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import changed

from offline.harness import PROJECT
from settings.quantity import parse_quantity
from settings.report import allowed_keys, validate
from settings.scaling import Autoscaling
from settings.stack import StackSettings


def _values(stack: str, **changes) -> dict:
    document = changed(stack, {k.replace("__", "."): v for k, v in changes.items()})
    return {key.removeprefix(f"{PROJECT}:"): value for key, value in document.items()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250m", Decimal("0.25")),
        ("0.5", Decimal("0.5")),
        ("2", Decimal(2)),
        ("512Mi", Decimal(512 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("1G", Decimal(10**9)),
        ("1e3", Decimal(1000)),
        ("100k", Decimal(100_000)),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_quantity(text: str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["500x", "-1Gi", "", "Mi", "1.2.3", "1 Gi", "1gi", "+1"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Kubernetes quantity"):
        parse_quantity(text)


def test_every_stack_file_is_valid(stack: str) -> None:
    settings, problems = validate(_values(stack), set(), PROJECT)
    assert problems == []
    assert isinstance(settings, StackSettings)


def test_defaults_are_the_proposal_behavior() -> None:
    scaling = Autoscaling.model_validate(
        {"minReplicas": 2, "maxReplicas": 10, "targetCpuUtilization": 70, "targetMemoryUtilization": 80}
    )
    behavior = scaling.behavior.model_dump(by_alias=True, mode="json")
    assert behavior["scaleDown"] == {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    }
    assert behavior["scaleUp"]["policies"] == [
        {"type": "Percent", "value": 100, "periodSeconds": 30},
        {"type": "Pods", "value": 2, "periodSeconds": 30},
    ]


def test_settings_are_immutable(stack: str) -> None:
    settings, _ = validate(_values(stack), set(), PROJECT)
    with pytest.raises(ValueError, match="frozen"):
        settings.backend.autoscaling.min_replicas = 50


def test_snake_case_keys_are_not_accepted() -> None:
    _, problems = validate(_values("dev", backend__autoscaling__min_replicas=2), set(), PROJECT)
    assert problems == [
        f"{PROJECT}:backend.autoscaling.min_replicas = 2: unknown key; allowed keys: behavior, maxReplicas, "
        "minReplicas, targetCpuUtilization, targetMemoryUtilization"
    ]


def test_allowed_keys_walks_lists_and_optionals() -> None:
    assert allowed_keys(StackSettings, ("backend", "autoscaling", "behavior", "scaleUp", "policies", 0)) == [
        "periodSeconds",
        "type",
        "value",
    ]


def test_digest_pinned_image(stack: str) -> None:
    digest = "sha256:" + "ab" * 32
    settings, problems = validate(
        _values(stack, backend__image__digest=digest, backend__image__pullPolicy="IfNotPresent"), set(), PROJECT
    )
    assert problems == []
    assert settings.backend.image.reference.endswith(f":1.4.2@{digest}")


def test_digest_only_image_gets_a_label_safe_version() -> None:
    digest = "sha256:" + "0f" * 32
    settings, _ = validate(_values("dev", backend__image={"repository": "ghcr.io/a/b", "digest": digest}), set(), "p")
    assert settings.backend.image.reference == f"ghcr.io/a/b@{digest}"
    assert settings.backend.image.version == "0f" * 6


def test_percentage_budgets_are_resolved_like_the_controller() -> None:
    _, problems = validate(_values("prod", backend__disruptionBudget={"minAvailable": "50%"}), set(), PROJECT)
    assert problems == []  # 50 % of 2 rounds up to 1: one pod may go
    _, problems = validate(_values("prod", backend__disruptionBudget={"minAvailable": "60%"}), set(), PROJECT)
    assert len(problems) == 1  # 60 % of 2 rounds up to 2: nothing may go
    assert problems[0].startswith(f'{PROJECT}:backend.disruptionBudget.minAvailable = "60%"')
