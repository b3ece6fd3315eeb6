"""The rules of the AWS settings and the secrets inventory (settings/rules/secrets.py), through the
real program: one exact line, nothing registered."""

from __future__ import annotations

import json

import pytest
from helpers import problems, run_changed

from offline.harness import stack_document

NS = "reconciliation-platform"
_DEV_NAMES = [entry["name"] for entry in stack_document("dev")[f"{NS}:secrets"]["inventory"]]
JWT_ARN = "arn:aws:secretsmanager:eu-west-1:444455556666:secret:reconciliation/jwt-secret-Jd8kQz"

REFUSED = {
    "the same secret twice": (
        "dev",
        {"secrets.inventory.1.name": _DEV_NAMES[0]},
        # The whole inventory is listed: the expected line is built from the parsed file.
        f"{NS}:secrets.inventory = {json.dumps([_DEV_NAMES[0], _DEV_NAMES[0], *_DEV_NAMES[2:]])}: each name once; "
        f"{_DEV_NAMES[0]} appears more than once",
    ),
    "a reminder after the due date": (
        "dev",
        {"secrets.inventory.0.rotationDays": 7},
        f"{NS}:secrets.inventory[0].rotationDays = 7: must be longer than secrets.reminderLeadDays (7), or the "
        "reminder comes before the last rotation",
    ),
    "a short recovery window in production": (
        "prod",
        {"secrets.recoveryWindowDays": 7},
        f"{NS}:secrets.recoveryWindowDays = 7: production stacks keep a deleted secret restorable for the full 30 days",
    ),
    "a secret that is also a plain variable": (
        "dev",
        {"backend.env.JWT_SECRET": "oops"},
        f'{NS}:backend.env.JWT_SECRET = "oops": is also a secret in secrets.inventory: the container would get two '
        "values for one variable",
    ),
    "an OIDC provider of another account": (
        "dev",
        {"aws.allowedAccountIds": ["999999999999"]},
        f"{NS}:aws.oidcProvider.arn = ",
    ),
    "an adopted secret in another region": (
        "prod",
        {"aws.region": "eu-central-1"},
        f"{NS}:secrets.inventory[0].importArn = ",
    ),
    "a tag the program sets": ("dev", {"aws.tags": {"stack": "x"}}, f'{NS}:aws.tags.stack = "x": the program sets'),
    "the pods as the secrets reader": (
        "dev",
        {"secrets.readerServiceAccount": "reconciliation-backend"},
        f'{NS}:secrets.readerServiceAccount = "reconciliation-backend": is the backend pods\' own ServiceAccount: '
        "the pods would run with the secrets reader's AWS role",
    ),
    "a variable that is also a previous value": (
        "dev",
        {"backend.env.JWT_SECRET_PREVIOUS": "x"},
        f'{NS}:secrets.inventory[0].name = "JWT_SECRET": JWT_SECRET_PREVIOUS (its previous value, automated '
        "rotation) is already a variable",
    ),
    "an automated rotation slower than Secrets Manager allows": (
        "dev",
        {"secrets.inventory.0.rotationDays": 1200},
        f"{NS}:secrets.inventory[0].rotationDays = 1200: automated rotation runs at most every 1000 days",
    ),
    "adopting another secret than the one named": (
        "prod",
        {"secrets.inventory.1.importArn": JWT_ARN},
        f"{NS}:secrets.inventory[1].importArn = ",
    ),
    "two entries stored under one name": (
        "dev",
        {"secrets.inventory.1.secretName": "reconciliation/dev/JWT_SECRET"},
        f'{NS}:secrets.inventory[1].secretName = "reconciliation/dev/JWT_SECRET": inventory[0] is stored under',
    ),
    "an OIDC ARN of another cluster than the issuer": (
        "dev",
        {"aws.oidcProvider.issuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/OTHER"},
        f"{NS}:aws.oidcProvider.arn = ",
    ),
    "names AWS would refuse": (
        "dev",
        {"secrets.inventory.0.name": "JWT_SECRET_FOR_THE_PUBLIC_API_OF_THE_PLATFORM_V2"},
        f"{NS}:secrets.inventory = ",
    ),
    "no owner tag": (
        "dev",
        {"aws.tags": {}},
        f"{NS}:aws.tags.owner = (not set): required: the team that owns the stack's AWS resources",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(case: str) -> None:
    stack, changes, expected = REFUSED[case]
    lines = problems(run_changed(stack, changes))
    assert any(line.startswith(expected) or expected in line for line in lines), lines


def test_production_names_who_gets_the_reminders() -> None:
    assert problems(run_changed("prod", {"secrets.reminderEmails": []})) == [
        f"{NS}:secrets.reminderEmails = []: production stacks name at least one recipient of the rotation reminders"
    ]
