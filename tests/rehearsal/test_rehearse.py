"""`./tasks.sh rehearse`: the emulator's run as an operator reads it before a real `up`."""

from __future__ import annotations

import pytest

from rehearsal import rehearse


def test_a_new_stack_rehearses_to_the_end_naming_what_its_owners_must_do(capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import validated

    settings, _ = validated("dev")
    empty = [s.name for s in settings.secrets.inventory if s.automation == "manual" and s.import_arn is None]
    assert rehearse.main(["--stack", "dev", "--at", "2027-06-01"]) == 0
    out = capsys.readouterr().out
    assert "REFUSED" not in out
    assert out.count("a week later (updates) (2027-06-08") == 1
    for name in empty:
        assert f"- {name} (" in out
    assert ("stopped by the program" in out) == bool(empty)


def test_a_refusal_names_the_resource_and_awss_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The defect the emulator must see: a StartDate of `lastRotated + rotationDays - lead` for an
    overdue secret, refused by EventBridge Scheduler (moto/scheduler/models.py,
    Schedule._validate_start_date; on update too, rehearsal/emulator.py). The program never sends it."""
    from components.aws import secret_reminders

    monkeypatch.setattr(secret_reminders, "reminder_start", lambda day, now: f"{day.isoformat()}T00:00:00Z")
    assert rehearse.main(["--stack", "prod"]) == 1
    out = capsys.readouterr().out
    assert "REFUSED create aws:scheduler/schedule:Schedule secrets-reminders-" in out
    refusals = [line for line in out.splitlines() if line.lstrip().startswith("REFUSED")]
    assert refusals
    assert all(
        line.endswith("ValidationException: The StartDate you specify cannot be earlier than 5 minutes ago.")
        for line in refusals
    )
    assert "done before the refusal" in out


def test_an_unknown_stack_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert rehearse.main(["--stack", "nosuch"]) == 2
    assert "no Pulumi.nosuch.yaml in" in capsys.readouterr().err


def test_the_pull_request_comment_gets_one_status_line_per_stack(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.harness import ROOT
    from offline.yaml_reader import load_yaml

    assert rehearse.main(["--stack", "prod", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(":white_check_mark: `prod`: ")
    assert "<details><summary>rehearsal</summary>" in out
    workflow = load_yaml((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert any('./tasks.sh rehearse "${stack%.yaml}" --format markdown' in run for run in steps)
