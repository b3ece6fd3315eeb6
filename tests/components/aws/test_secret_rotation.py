"""Automatic rotation of a secret (components/aws/secret_rotation.py), on the wire, every stack."""

from __future__ import annotations

from helpers import identity_policy_problems, run_changed

from components.aws import policies as aws_policies
from offline.harness import RunResult


def test_each_automated_secret_gets_a_rotation_function_limited_to_it(result: RunResult, settings) -> None:
    rotated = [s for s in settings.secrets.inventory if s.automation == "automated"]
    functions = result.by_type("aws:lambda/function:Function")
    assert [f.inputs["name"] for f in functions] == [
        f"reconciliation-{settings.environment}-rotate-{s.name.lower().replace('_', '-')}" for s in rotated
    ]
    for function in functions:
        assert function.inputs["handler"] == "jwt_secret.lambda_handler"
        assert function.inputs["code"]["archive"]["jwt_secret.py"]["file"] == "rotation/jwt_secret.py"
    (permission,) = result.by_type("aws:lambda/permission:Permission")
    assert permission.inputs["principal"] == "secretsmanager.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert "sourceArn" in permission.inputs  # only for its own secret (its ARN: known after apply)
    (schedule,) = result.by_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert schedule.inputs["rotationRules"] == {"automaticallyAfterDays": rotated[0].rotation_days}
    assert permission.urn in schedule.depends_on
    policy = aws_policies.rotation_policy(settings, rotated[0], "arn:aws:kms:eu-west-1:111122223333:key/abc")
    assert identity_policy_problems(policy) == []
    (secret_statement, key_statement, logs) = policy["Statement"]
    assert secret_statement["Resource"] == [
        aws_policies.secret_arn_pattern(settings, settings.secrets.secret_name(rotated[0], settings.environment))
    ]
    assert key_statement["Condition"] == aws_policies.via_secrets_manager(settings)
    assert all(":log-group:/aws/lambda/reconciliation-" in arn for arn in logs["Resource"])


def test_manual_secrets_get_no_rotation_function() -> None:
    result = run_changed("dev", {"secrets.inventory.0.automation": "manual"}).execute()
    assert result.by_type("aws:lambda/function:Function") == []
    assert result.by_type("aws:secretsmanager/secretRotation:SecretRotation") == []


def test_setting_up_rotation_never_rotates_the_adopted_key_at_once(result: RunResult, settings) -> None:
    """An adopted key rotates on its schedule, never in the `up` that adopts it; a new secret is
    rotated at creation, which gives it its first value (tests/rehearsal/test_emulator.py runs both)."""
    (rotated,) = settings.secrets.rotated
    (schedule,) = result.by_type("aws:secretsmanager/secretRotation:SecretRotation")
    assert schedule.inputs["rotateImmediately"] is (rotated.import_arn is None)
    policy = next(r for r in result.by_type("aws:iam/rolePolicy:RolePolicy") if "RotatedSecret" in r.parent)
    assert policy.urn in schedule.depends_on  # never invoked before it may read the secret


def test_the_rotation_logs_are_kept_for_a_set_time(result: RunResult, settings) -> None:
    (logs,) = result.by_type("aws:cloudwatch/logGroup:LogGroup")
    (function,) = result.by_type("aws:lambda/function:Function")
    assert logs.inputs["name"] == f"/aws/lambda/{function.inputs['name']}"
    assert logs.inputs["retentionInDays"] == settings.secrets.log_retention_days
    assert logs.urn in function.depends_on  # the group exists before Lambda would create one that never expires
