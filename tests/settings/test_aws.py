"""The AWS and secrets settings (settings/aws.py), through the real program: one exact line, nothing
registered."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import problems, run_changed

from offline.harness import stack_document

NS = "reconciliation-platform"
_DEV_NAMES = [entry["name"] for entry in stack_document("dev")[f"{NS}:secrets"]["inventory"]]
JWT_ARN = "arn:aws:secretsmanager:eu-west-1:444455556666:secret:reconciliation/jwt-secret-Jd8kQz"

REFUSED: dict[str, tuple[str, dict[str, Any], str]] = {
    "a rotation date in the future": (
        "dev",
        {"secrets.inventory.0.lastRotated": "2999-01-01"},
        "secrets.inventory[0].lastRotated",
    ),
    "an unquoted account ID": ("dev", {"aws.allowedAccountIds": [111122223333]}, f"{NS}:aws.allowedAccountIds[0] = "),
    "a frequency out of range": (
        "dev",
        {"secrets.inventory.0.rotationDays": 4000},
        f"{NS}:secrets.inventory[0].rotationDays = 4000: Input should be less than or equal to 3650",
    ),
    "an unknown automation": (
        "dev",
        {"secrets.inventory.0.automation": "sometimes"},
        f"{NS}:secrets.inventory[0].automation = \"sometimes\": Input should be 'automated' or 'manual'",
    ),
    "a refresh loop too tight": (
        "dev",
        {"secrets.refreshInterval": "10s"},
        f'{NS}:secrets.refreshInterval = "10s": expected a duration of at least 1m, such as 1h',
    ),
    "a recovery window AWS refuses": (
        "dev",
        {"secrets.recoveryWindowDays": 3},
        f"{NS}:secrets.recoveryWindowDays = 3: Input should be greater than or equal to 7",
    ),
    "an owner no tag can hold": (
        "dev",
        {"secrets.inventory.0.owner": "Security & Risk"},
        f'{NS}:secrets.inventory[0].owner = "Security & Risk": expected a team name',
    ),
    "a GovCloud region the policies cannot name": ("dev", {"aws.region": "us-gov-west-1"}, f"{NS}:aws.region = "),
    "an issuer with a trailing slash": (
        "dev",
        {"aws.oidcProvider.issuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/DEV0D539D4633E53DE1B71EXAMPLE/"},
        f"{NS}:aws.oidcProvider.issuerUrl = ",
    ),
    "a retention CloudWatch does not offer": (
        "dev",
        {"secrets.logRetentionDays": 100},
        f"{NS}:secrets.logRetentionDays = 100: Input should be 30, 60, 90,",
    ),
    "a malformed reminder address": (
        "dev",
        {"secrets.reminderEmails": ["platform-team"]},
        f'{NS}:secrets.reminderEmails[0] = "platform-team": expected an e-mail address',
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(case: str) -> None:
    stack, changes, expected = REFUSED[case]
    lines = problems(run_changed(stack, changes))
    assert any(line.startswith(expected) or expected in line for line in lines), lines
