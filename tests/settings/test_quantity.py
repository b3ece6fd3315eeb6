"""Kubernetes quantities (settings/quantity.py): what parses, to what, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from settings.quantity import parse_quantity


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
