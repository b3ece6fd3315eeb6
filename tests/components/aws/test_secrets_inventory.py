"""The secrets in AWS (components/aws/secrets_inventory.py), on the wire, every stack: a rotating key,
secrets without values, prod's adopted secrets, and the overdue warnings of the manual ones."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import yaml
from helpers import changed, external_secret, run_changed, shared_run_stack, validated

from offline import render
from offline.harness import RunResult
from settings.stack import StackSettings


def test_the_key_rotates_and_secrets_use_it_with_no_value(result: RunResult, settings: StackSettings) -> None:
    key = result.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is settings.production
    secrets = result.by_type("aws:secretsmanager/secret:Secret")
    assert sorted(s.inputs["name"] for s in secrets) == sorted(
        settings.secrets.secret_name(secret, settings.environment) for secret in settings.secrets.inventory
    )
    for secret in secrets:
        assert secret.inputs["recoveryWindowInDays"] == settings.secrets.recovery_window_days
        assert secret.protect is settings.production
        assert {"owner", "rotation-days", "automation"} <= set(secret.inputs["tags"])
    # No value ever: no secret version is declared, so none can reach state.
    assert not [r for r in result.resources if "secretVersion" in r.type]


def test_prod_adopts_the_platforms_existing_secrets() -> None:
    result = shared_run_stack("prod")
    imports = {r.inputs["name"]: r.import_id for r in result.by_type("aws:secretsmanager/secret:Secret")}
    assert imports["reconciliation/jwt-secret"].startswith(
        "arn:aws:secretsmanager:eu-west-1:444455556666:secret:reconciliation/jwt-secret-"
    )
    assert all(imports.values())
    external = external_secret(result).inputs["spec"]
    jwt = next(entry for entry in external["data"] if entry["secretKey"] == "JWT_SECRET")
    assert jwt["remoteRef"] == {"key": "reconciliation/jwt-secret", "property": "value"}  # as the platform reads it
    # A missing AWSPREVIOUS (before a first rotation) is skipped, never a failed sync; a key whose
    # secret disappears from AWS is dropped while the Secret and its other keys stay.
    assert external["target"]["deletionPolicy"] == "Merge"


def _first(stack: str, automation: str) -> tuple[int, Any]:
    """The stack file's first inventory entry rotated ``automation``ly: (its index, the entry)."""
    inventory = validated(stack)[0].secrets.inventory
    found = next(((i, secret) for i, secret in enumerate(inventory) if secret.automation == automation), None)
    if found is None:
        pytest.skip(f"{stack} has no {automation} secret")
    return found


def _overdue_line(stack: str, secret, last: date, late: int) -> str:
    name = secret.secret_name or f"reconciliation/{stack}/{secret.name}"  # the program's default name
    return (
        f"{secret.name} ({name}, owner {secret.owner}) is {late} day{'s' if late != 1 else ''} overdue for rotation: "
        f"last rotated {last.isoformat()}, every {secret.rotation_days} days"
    )


def _fresh(stack: str) -> dict[str, str]:
    """Every entry of the stack's inventory rotated today: no warning of its own."""
    inventory = validated(stack)[0].secrets.inventory
    return {f"secrets.inventory.{i}.lastRotated": date.today().isoformat() for i in range(len(inventory))}


@pytest.mark.parametrize(("days_after_due", "warned"), [(0, False), (1, True)])
def test_a_manual_secret_is_overdue_from_the_day_after_it_is_due(stack: str, days_after_due: int, warned) -> None:
    """Due on lastRotated + rotationDays: that day it is not overdue yet, the day after by 1 day."""
    index, secret = _first(stack, "manual")
    last = date.today() - timedelta(days=secret.rotation_days + days_after_due)
    result = run_changed(stack, {**_fresh(stack), f"secrets.inventory.{index}.lastRotated": last.isoformat()}).execute()
    assert result.warnings == ([_overdue_line(stack, secret, last, days_after_due)] if warned else [])
    assert result.one("aws:kms/key:Key")  # a warning, never an error: the deploy goes on


def test_an_automated_secret_is_never_reported_overdue_from_the_stack_file(stack: str) -> None:
    """Its last rotation is Secrets Manager's: a `lastRotated` years old is no warning."""
    index, secret = _first(stack, "automated")
    long_ago = date.today() - timedelta(days=10 * secret.rotation_days)
    result = run_changed(stack, {**_fresh(stack), f"secrets.inventory.{index}.lastRotated": long_ago.isoformat()})
    assert result.execute().warnings == []


def test_the_render_warns_of_the_overdue_manual_secrets_and_tells_where_automated_ones_rotated(
    stack: str, tmp_path, capsys, monkeypatch
) -> None:
    """The committed stack files as they are: each manual secret past its due date today, to the day."""
    monkeypatch.setattr(render, "run_stack", shared_run_stack)  # the stack file's run, keyed by the day
    settings = validated(stack)[0]
    expected = []
    for secret in settings.secrets.inventory:
        late = (date.today() - secret.last_rotated).days - secret.rotation_days
        if secret.automation == "manual" and late > 0:
            expected.append(f"    warning: {_overdue_line(stack, secret, secret.last_rotated, late)}")
    assert render.main(["--stack", stack, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    warnings = [line for line in printed.splitlines() if line.startswith("    warning: ")]
    assert warnings == expected
    assert printed.startswith((tmp_path / "summary.txt").read_text())
    # For each automated one, once and not as a warning: where its last rotation is recorded.
    for secret in settings.secrets.rotated:
        name = secret.secret_name or f"reconciliation/{stack}/{secret.name}"
        command = (
            f"aws secretsmanager describe-secret --region {settings.aws.region} --secret-id {name} "
            "--query LastRotatedDate"
        )
        assert printed.count(command) == 1
        assert f"      last rotated: {command}\n" in printed
        function = f"reconciliation-{stack}-rotate-{secret.name.lower().replace('_', '-')}"
        assert f"      rotation logs: /aws/lambda/{function}\n" in printed
        assert f"warning: {secret.name} " not in printed
    heading = "Rotated automatically, so not checked against lastRotated (Secrets Manager records each rotation"
    assert printed.count(heading) == (1 if settings.secrets.rotated else 0)


def test_the_program_tells_pulumi_preview_the_same_as_information(stack: str, monkeypatch) -> None:
    """`pulumi preview` shows the program's info messages under Diagnostics, without `warning:`."""
    import pulumi

    told: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *args, **kwargs: told.append(message))
    settings = validated(stack)[0]
    run_changed(stack, {}).execute()  # a run of its own: what it tells is not in a shared result
    assert len(told) == (1 if settings.secrets.rotated else 0)
    for secret in settings.secrets.rotated:
        assert told[0].startswith("Rotated automatically, so not checked against lastRotated")
        assert f"\n  {secret.name} (every {secret.rotation_days} days)\n    last rotated: aws secretsmanager" in told[0]


def test_without_automated_secrets_there_is_no_rotation_note(tmp_path, capsys) -> None:
    index, _ = _first("dev", "automated")
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": changed("dev", {f"secrets.inventory.{index}.automation": "manual"})})
    )
    assert render.main(["--stack-file", str(stack_file), "--out", str(tmp_path / "out")]) == 0
    assert "Rotated automatically" not in capsys.readouterr().out
