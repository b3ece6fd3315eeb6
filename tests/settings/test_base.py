"""The models' shared pieces (settings/base.py): immutable settings, numbers where text or a CPU
quantity is expected, as the Pulumi CLI hands them over."""

from __future__ import annotations

import pytest
from helpers import validated

from offline.harness import PROJECT


def test_settings_are_immutable(stack: str) -> None:
    settings, _ = validated(stack)
    with pytest.raises(ValueError, match="frozen"):
        settings.backend.autoscaling.min_replicas = 50


def test_numbers_where_text_is_expected_are_that_text() -> None:
    # `pulumi config set --path backend.image.tag 42` stores an integer.
    settings, problems = validated(
        "dev", {"backend.image.tag": 42, "backend.resources.limits.cpu": 1, "backend.env": {"WORKERS": 4}}
    )
    assert problems == []
    assert settings.backend.image.tag == "42"
    assert settings.backend.resources.limits.cpu == "1"
    assert settings.backend.env == {"WORKERS": "4"}


@pytest.mark.parametrize(
    ("written", "expected"),
    [(0.2, "0.2"), (0.5, "0.5"), (1.5, "1.5"), (2, "2"), (0.25, "0.25"), (1.0, "1"), (2e0, "2")],
)
def test_a_cpu_written_as_a_number_is_that_quantity(written: float, expected: str) -> None:
    # Kubernetes accepts `cpu: 0.2`; so do the settings, as the exact text of the number.
    settings, problems = validated("dev", {"backend.resources.limits.cpu": written})
    assert problems == []
    assert settings.backend.resources.limits.cpu == expected


@pytest.mark.parametrize("written", [True, 0.0001, float("inf"), float("nan")])
def test_numbers_that_are_no_cpu_quantity_are_refused(written: float) -> None:
    _, problems = validated("dev", {"backend.resources.requests.cpu": written})
    assert [line.split(" = ")[0] for line in problems] == [f"{PROJECT}:backend.resources.requests.cpu"]


def test_a_whole_number_is_written_as_the_cli_hands_it_over() -> None:
    # The Pulumi CLI passes object config through Go's JSON encoder: `memory: 5.36870912e8` and
    # `1.0` reach the program as 536870912 and 1, so the render must say the same.
    settings, problems = validated("dev", {"backend.resources.limits.memory": 5.36870912e8})
    assert problems == []
    assert settings.backend.resources.limits.memory == "536870912"
