"""Every stack's AWS side against an AWS API emulator (moto's mock_aws, rehearsal/emulator.py): the
first `up` today, the owners' values, the `up` after them, and the updates a week, a month and 13
months later, the clock moved to each. Whatever the emulator refuses fails the test with AWS's words.
(A first `up` on a later day: tests/rehearsal/test_rehearse.py.)

IAM is evaluated as AWS does for requests signed with a role's credentials: the rotation function
runs its four steps with its own role's, External Secrets reads with the reader role's."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from pulumi.runtime import mocks as pulumi_mocks

from components.aws import policies as aws_policies
from rehearsal.emulator import ADOPTED_VALUE, Emulator, EmulatorMocks, rehearse
from settings.stack import StackSettings

UPDATES = (7, 30, 395)  # days after the first `up`: a week, a month, 13 months


def _without_a_value(settings: StackSettings) -> list[str]:
    """What a first `up` must stop on: manual secrets the stack creates (adopted ones hold values)."""
    return [s.name for s in settings.secrets.inventory if s.automation == "manual" and s.import_arn is None]


def _read_everything_as_the_reader(settings: StackSettings, emulator: Emulator) -> dict[str, str]:
    """What External Secrets does with the reader role: each entry of the ExternalSecret."""
    reader = emulator.client("secretsmanager", emulator.role_credentials(aws_policies.reader_role_arn(settings)))
    read = {}
    for secret in settings.secrets.inventory:
        name = settings.secrets.secret_name(secret, settings.environment)
        read[secret.name] = json.loads(reader.get_secret_value(SecretId=name)["SecretString"])[secret.property]
    return read


def test_every_stack_deploys_and_updates_against_the_emulator(stack: str, settings: StackSettings) -> None:
    """terraform-provider-aws internal/service/scheduler/schedule.go re-sends start_date on every
    update; EventBridge Scheduler refuses one more than 5 minutes in the past (moto enforces it on
    create, rehearsal/emulator.py on update too). Nothing may be refused, whatever the day."""
    at = datetime.now(UTC)
    checks: dict = {}

    def afterwards(emulator: Emulator) -> None:
        checks["read"] = _read_everything_as_the_reader(settings, emulator)
        for secret in settings.secrets.rotated:  # a scheduled rotation, as Secrets Manager runs it
            name = settings.secrets.secret_name(secret, settings.environment)
            emulator.client("secretsmanager").rotate_secret(SecretId=name, RotateImmediately=True)
            reader = emulator.client(
                "secretsmanager", emulator.role_credentials(aws_policies.reader_role_arn(settings))
            )
            values = [
                json.loads(reader.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"])[secret.property]
                for stage in ("AWSCURRENT", "AWSPREVIOUS")
            ]
            checks.setdefault("rotated", {})[secret.name] = values

    phases = rehearse(stack, at, updates=UPDATES, settings=settings, then=afterwards)
    refused = [f"{p.label}: {s.type} {s.name}: {s.message}" for p in phases for s in p.refused]
    assert refused == []
    assert [p.error for p in phases[-len(UPDATES) :]] == [""] * len(UPDATES)
    assert [p.at for p in phases[-len(UPDATES) :]] == [at + timedelta(days=days) for days in UPDATES]
    first = phases[0]
    empty = _without_a_value(settings)
    if empty:
        # The first `up` stops before the cluster, naming each empty secret and its command.
        assert first.error.splitlines()[0].endswith("Give each its value, then run `pulumi up` again:")
        named = [line.split(" (")[0].strip(" -") for line in first.error.splitlines()[1:]]
        assert named == empty
        assert all("aws secretsmanager put-secret-value" in line for line in first.error.splitlines()[1:])
    else:
        assert first.error == ""
    # At each later day every AWS resource got its update call, and the emulator took each.
    created = {(s.type, s.name) for p in phases[: -len(UPDATES)] for s in p.steps if s.action in ("create", "import")}
    for later in phases[-len(UPDATES) :]:
        assert {(s.type, s.name) for s in later.steps if s.action == "update"} == created, later.label
    # No date the program sent is in the past on the day it sent it.
    for phase in phases:
        if not phase.error:  # an `up` the program stopped may not have reached every schedule
            assert len(phase.starts) == len(settings.secrets.inventory), phase.label
        assert all(start is None or start > phase.at for start in phase.starts.values()), phase.label
    assert set(checks["read"]) == {s.name for s in settings.secrets.inventory}
    # Adopted secrets keep the values people set (imported, updated in place, never rotated at
    # set-up: RotateImmediately false runs only testSecret, with the function's own role).
    for secret in settings.secrets.inventory:
        if secret.import_arn is not None:
            assert checks["read"][secret.name].startswith(ADOPTED_VALUE)
    # After a rotation (the four steps with the rotation role's credentials) the reader gets the
    # new value, at least 64 characters, and the one before it as AWSPREVIOUS.
    for secret in settings.secrets.rotated:
        current, previous = checks["rotated"][secret.name]
        assert previous == checks["read"][secret.name]
        assert current != previous
        assert len(current) >= 64


def test_a_rotation_role_without_a_permission_is_refused_at_that_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without UpdateSecretVersionStage the rotation fails at finishSecret, as AWS would refuse it:
    the emulator evaluates the role's policy (moto.iam.access_control, with the `?` wildcard and the
    secret's ARN as resource patched in rehearsal/emulator.py)."""
    original = aws_policies.rotation_policy

    def without_stage_moves(settings, secret, key_arn):
        document = original(settings, secret, key_arn)
        actions = document["Statement"][0]["Action"]
        document["Statement"][0]["Action"] = [a for a in actions if a != "secretsmanager:UpdateSecretVersionStage"]
        return document

    monkeypatch.setattr(aws_policies, "rotation_policy", without_stage_moves)
    phases = rehearse("dev", datetime.now(UTC))
    refused = [s for p in phases for s in p.refused]
    said = [(s.phase, s.type, s.name, s.action, s.message) for s in refused]  # what AWS said, should it differ
    expected = [("aws:secretsmanager/secretRotation:SecretRotation", "create")]
    assert [(s.type, s.action) for s in refused] == expected, said
    assert "UpdateSecretVersionStage" in refused[0].message
    assert "AccessDenied" in refused[0].message


def test_a_reader_policy_missing_a_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's policy names each secret by `<name>-??????` (the suffix Secrets Manager adds):
    drop one and External Secrets' read of it is refused."""
    original = aws_policies.read_secrets_policy

    def without_the_last(settings):
        document = original(settings)
        document["Statement"][0]["Resource"] = document["Statement"][0]["Resource"][:-1]
        return document

    from capacity.__main__ import load_settings

    settings = load_settings("dev")
    monkeypatch.setattr(aws_policies, "read_secrets_policy", without_the_last)
    errors: list[str] = []

    def afterwards(emulator: Emulator) -> None:
        try:
            _read_everything_as_the_reader(settings, emulator)
        except Exception as error:
            errors.append(str(error))

    # Read after the `up` that gave the secrets their values; no update after it: one puts the
    # same policy again (the reads after a year of them: the first test).
    rehearse("dev", datetime.now(UTC), updates=(), settings=settings, then=afterwards)
    assert len(errors) == 1
    assert "AccessDenied" in errors[0]


def test_a_secret_added_later_stops_the_update_until_it_has_a_value() -> None:
    """Adding a key to a running stack (docs/secrets.md#changing-the-keys): pulumi-kubernetes may accept
    the ExternalSecret's Ready from before the change (provider/pkg/await/condition/custom.go looks
    at no generation; External Secrets publishes none), so the gate must stop the update before
    the ExternalSecret changes until the new secret holds a value, and let it through after."""
    from helpers import changed

    from offline.harness import to_wire
    from rehearsal.emulator import Phase, run_program
    from settings.report import validate

    new = {
        "name": "WEBHOOK_SECRET",
        "owner": "DevOps",
        "rotationDays": 90,
        "automation": "manual",
        "lastRotated": datetime.now(UTC).date().isoformat(),
        "description": "Signs outgoing webhooks",
    }
    from settings.stackfile import project_values

    document = changed("dev", {})
    inventory = [*document["reconciliation-platform:secrets"]["inventory"], new]
    document = changed("dev", {"secrets.inventory": inventory})
    config, secret_keys = to_wire(document)
    values, keys = project_values(document, "reconciliation-platform")
    settings, problems = validate(values, keys, "reconciliation-platform", "dev")
    assert problems == []
    seen: dict = {}

    def afterwards(emulator: Emulator) -> None:
        emulator.phase = Phase("the change", datetime.now(UTC))
        registrations, seen["error"] = run_program("dev", emulator, config, secret_keys)
        seen["types"] = [r.type for r in registrations]
        filled = emulator.put_manual_values(settings)
        registrations, seen["after"] = run_program("dev", emulator, config, secret_keys)
        seen["filled"] = filled
        external = next(r for r in registrations if r.type == "kubernetes:external-secrets.io/v1:ExternalSecret")
        seen["keys"] = [entry["secretKey"] for entry in external.inputs["spec"]["data"]]

    # The running stack: its first `up`, the owners' values and the `up` after them.
    rehearse("dev", datetime.now(UTC), updates=(), then=afterwards)
    assert "WEBHOOK_SECRET (reconciliation/dev/WEBHOOK_SECRET): owner DevOps:" in seen["error"]
    assert "kubernetes:external-secrets.io/v1:ExternalSecret" not in seen["types"]
    assert "kubernetes:apps/v1:Deployment" not in seen["types"]
    assert seen["filled"] == ["WEBHOOK_SECRET"]
    assert seen["after"] == ""
    assert "WEBHOOK_SECRET" in seen["keys"]


def test_an_up_that_stopped_waits_for_its_requests_under_way_and_sends_no_more() -> None:
    """A program that stops leaves the SDK's other requests on its threads; reaching the emulator
    during the next `up`, one would create again what that `up` created: refused as a duplicate,
    in the wrong phase. Its end (EmulatorMocks.close) waits for the one under way and refuses the
    next; here the next is sent once the end began, and lets the one under way finish."""
    log: list[str] = []
    entered, release = threading.Event(), threading.Event()

    class OneRegistrationUnderWay:
        def register(self, args, urn):
            entered.set()
            release.wait()
            log.append("registered")
            return "id", {}

        def invoke(self, token, args):
            return {}

    mocks = EmulatorMocks(cast(Emulator, OneRegistrationUnderWay()))
    versions = "aws:secretsmanager/getSecretVersions:getSecretVersions"  # an invoke the program makes
    resource = pulumi_mocks.MockResourceArgs(typ="aws:iam/role:Role", name="role", inputs={})
    under_way = threading.Thread(target=mocks.new_resource, args=(resource,))
    under_way.start()
    entered.wait()

    def next_request() -> None:
        for _ in range(1_000_000):  # until the end has begun: a bound, not a clock
            try:
                mocks.call(pulumi_mocks.MockCallArgs(versions, args={}, provider=""))
            except RuntimeError:
                log.append("refused")
                break
        release.set()

    later = threading.Thread(target=next_request)
    later.start()
    mocks.close()
    log.append("closed")
    under_way.join()
    later.join()
    assert log == ["refused", "registered", "closed"]


def test_moto_takes_one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK registers resources from several threads at once, and moto is not thread-safe
    (getmoto/moto#7166, #6745): every create and update reaches it one at a time. A handler that
    lingers a little would overlap with the next one without the emulator's lock."""
    import time

    from rehearsal import emulator as module

    inside, most = [0], [0]
    guard = threading.Lock()

    def lingering(create):
        def handler(*args, **kwargs):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            try:
                time.sleep(0.005)
                return create(*args, **kwargs)
            finally:
                with guard:
                    inside[0] -= 1

        return handler

    for token, handler in list(module.HANDLERS.items()):
        monkeypatch.setitem(module.HANDLERS, token, module.Handler(lingering(handler.create), handler.update))
    phases = rehearse("dev", datetime.now(UTC), updates=())
    assert [s for p in phases for s in p.refused] == []  # the first `up` stops at the owners' values, by design
    assert sum(s.action == "create" for p in phases for s in p.steps) > 10  # many creates, sent at once
    assert most == [1]
