"""The rules the settings and the pack share: rounding as the controllers round, and what counts as
a wildcard grant."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from guardrails import broad_grants, count_of


@pytest.mark.parametrize(
    ("value", "total", "up", "down"),
    [(2, 7, 2, 2), ("25%", 7, 2, 1), ("50%", 2, 1, 1), ("1%", 1, 1, 0), ("0%", 5, 0, 0), ("100%", 3, 3, 3)],
)
def test_a_percentage_rounds_like_the_controllers(value: int | str, total: int, up: int, down: int) -> None:
    assert count_of(value, total, round_up=True) == up
    assert count_of(value, total, round_up=False) == down


def test_large_counts_stay_exact() -> None:
    # 33% of 1000 is 330 exactly; a float product (0.33 * 1000 = 330.00000000000006) would round up to 331.
    assert count_of("33%", 1000, round_up=True) == 330
    assert count_of("29%", 100_000_000, round_up=True) == 29_000_000


def _policy(**statement: object) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}


@pytest.mark.parametrize(
    ("statement", "found"),
    [
        ({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}, []),
        ({"Action": "s3:GetObject", "Resource": "*"}, [("resource", "allows a bare '*' resource")]),
        ({"Action": "s3:GetObject", "Resource": ["arn:aws:s3:::b", "*"]}, [("resource", "allows a bare '*' resource")]),
        (
            {"Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"},
            [("resource", "allows NotResource, as broad as '*'")],
        ),
        ({"Action": "s3:GetObject"}, [("resource", "names no resource")]),
        ({"Action": "s3:*", "Resource": "arn:aws:s3:::b"}, [("action", "allows the wildcard action s3:*")]),
        ({"Action": ["*"], "Resource": "arn:aws:s3:::b"}, [("action", "allows the wildcard action *")]),
        ({"NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}, [("action", "allows NotAction, as broad as '*'")]),
        # A prefix wildcard names a family of actions, not all of a service's.
        ({"Action": "s3:Get*", "Resource": "arn:aws:s3:::b"}, []),
    ],
)
def test_what_counts_as_a_broad_grant(statement: dict, found: list) -> None:
    assert [(grant.kind, grant.problem) for grant in broad_grants(_policy(**statement))] == found


def test_deny_statements_and_json_text() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    assert broad_grants(deny) == []
    one = json.dumps({"Statement": {"Sid": "Only", "Action": "kms:*", "Resource": "*"}})
    assert [str(grant) for grant in broad_grants(one)] == [
        "statement 0 (Only) allows a bare '*' resource",
        "statement 0 (Only) allows the wildcard action kms:*",
    ]
