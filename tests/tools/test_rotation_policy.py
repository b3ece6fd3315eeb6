"""The rotation policy document (tools/rotation_policy.py): generated from the stack files, and a
stale one fails the check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpers import validated

from offline.harness import stack_names


def _schedule_rows(stack: str) -> list[tuple[str, Any]]:
    """Each inventory secret's schedule row, computed here from the parsed stack file: (row, secret)."""
    settings = validated(stack)[0]
    lead = settings.secrets.reminder_lead_days  # a code default (7) unless the stack file sets it
    rows = []
    for secret in settings.secrets.inventory:
        due = secret.last_rotated + timedelta(days=secret.rotation_days)
        # The default Secrets Manager name, reconciliation/<stack>/<NAME>, is the program's (settings.aws).
        name = secret.secret_name or f"reconciliation/{stack}/{secret.name}"
        dates = f"{secret.last_rotated.isoformat()} | {due.isoformat()} | {(due - timedelta(days=lead)).isoformat()}"
        if secret.automation == "automated":  # its dates are Secrets Manager's, never the stack file's
            every = f"{secret.rotation_days} days"
            dates = f"see Secrets Manager | {every} after it | a check every {every}"
        row = f"| {secret.name} | `{name}` | {secret.rotation_days} days | {dates} | {secret.owner} |"
        rows.append((row, secret))
    return rows


def test_the_committed_rotation_policy_is_generated_from_the_stack_files(capsys) -> None:
    from tools import rotation_policy

    assert rotation_policy.main(["--check"]) == 0, "run ./tasks.sh docs"
    text = rotation_policy.OUT.read_text()
    for stack in stack_names():
        schedule = text.split(f"## Schedule: {stack}\n\n", 1)[1].split("\n\n", 1)[0]
        rows = _schedule_rows(stack)
        assert len(schedule.splitlines()) == 2 + len(rows)  # header, rule, one row per secret
        for row, secret in rows:
            assert row in schedule
            # A runbook per manual secret; the automated ones are rotated by their function.
            assert (f"#### {secret.name} ({stack})" in text) is (secret.automation == "manual")


def test_a_stale_rotation_policy_fails_the_check(tmp_path, monkeypatch, capsys) -> None:
    from tools import rotation_policy

    stale = tmp_path / "POLICY.md"
    current = rotation_policy.render()
    row, _ = _schedule_rows("prod")[0]
    assert row in current
    stale.write_text(current.replace(row, row.replace("| Security |", "| Someone else |").replace(" days |", " day |")))
    assert stale.read_text() != current
    monkeypatch.setattr(rotation_policy, "OUT", stale)
    assert rotation_policy.main(["--check"]) == 1
    assert "is stale: run ./tasks.sh docs" in capsys.readouterr().err
