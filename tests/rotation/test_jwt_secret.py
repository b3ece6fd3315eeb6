"""The JWT_SECRET rotation function against moto: real boto3 calls, Secrets Manager's four steps."""

from __future__ import annotations

import functools
import io
import json
import uuid
import zipfile

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaBackend

from rotation import jwt_secret

REGION = "eu-west-1"
NAME = "reconciliation/dev/JWT_SECRET"


LAMBDA = {"runs": True}  # whether moto's Secrets Manager runs the handler when it invokes the Lambda
CALLS: list[dict] = []  # every event moto's Secrets Manager sent the Lambda, run or not


@functools.cache
def _clients() -> dict:
    """The tests' clients and the Lambda's own, made once per process: the first client of a
    service in a new session loads its model (100-300 ms each), and ``mock_aws`` gives each test
    a new default session. moto answers a client made before its mock started (its handler is on
    every session made after moto is imported); each test's ``mock_aws`` starts from empty
    backends all the same."""
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return {
        "secretsmanager": session.client("secretsmanager"),
        "lambda's secretsmanager": session.client("secretsmanager"),
        "iam": session.client("iam"),
        "lambda": session.client("lambda"),
    }


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """moto, where Secrets Manager's calls to the rotation Lambda run the handler in process."""
    clients = _clients()
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")

    def invoke(self, *args, body: str = "", **kwargs) -> bytes:
        CALLS.append(json.loads(body))
        if LAMBDA["runs"]:
            jwt_secret.lambda_handler(json.loads(body), None, clients["lambda's secretsmanager"])
        return b""

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    LAMBDA["runs"] = True
    CALLS.clear()
    with mock_aws():
        yield clients["secretsmanager"]


def _rotation_enabled_with_a_pending_placeholder(aws) -> str:
    """Rotation enabled and an AWSPENDING version with no value yet, as Secrets Manager prepares
    one before calling createSecret; the handler is then called step by step."""
    LAMBDA["runs"] = False
    aws.rotate_secret(SecretId=NAME, RotationLambdaARN=_function_arn(), RotationRules={"AutomaticallyAfterDays": 90})
    (token,) = [version for version, labels in _stages(aws).items() if "AWSPENDING" in labels]
    return token


def _function_arn() -> str:
    clients = _clients()
    role = clients["iam"].create_role(RoleName="rotation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("jwt_secret.py", "")
    function = clients["lambda"].create_function(
        FunctionName="rotate",
        Runtime="python3.12",
        Role=role,
        Handler="jwt_secret.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )
    return function["FunctionArn"]


def _value(client, **version) -> str:
    version = version or {"VersionStage": "AWSCURRENT"}
    return json.loads(client.get_secret_value(SecretId=NAME, **version)["SecretString"])["value"]


def _stages(client) -> dict:
    return client.describe_secret(SecretId=NAME)["VersionIdsToStages"]


def test_a_full_rotation_moves_current_to_a_new_value_and_keeps_the_old_as_previous(aws) -> None:
    aws.create_secret(Name=NAME, SecretString=json.dumps({"value": "the-old-signing-key"}))
    aws.rotate_secret(SecretId=NAME, RotationLambdaARN=_function_arn(), RotationRules={"AutomaticallyAfterDays": 90})
    new = _value(aws)
    assert new != "the-old-signing-key"
    assert len(new) >= jwt_secret.MIN_LENGTH
    assert _value(aws, VersionStage="AWSPREVIOUS") == "the-old-signing-key"
    current = [version for version, labels in _stages(aws).items() if "AWSCURRENT" in labels]
    previous = [version for version, labels in _stages(aws).items() if "AWSPREVIOUS" in labels]
    assert len(current) == len(previous) == 1
    assert current != previous


def _step(aws, step: str, token: str) -> None:
    jwt_secret.lambda_handler({"SecretId": NAME, "ClientRequestToken": token, "Step": step}, None, aws)


def test_every_step_is_safe_to_repeat(aws) -> None:
    aws.create_secret(Name=NAME, SecretString=json.dumps({"value": "the-old-signing-key"}))
    token = _rotation_enabled_with_a_pending_placeholder(aws)
    _step(aws, "createSecret", token)
    pending = _value(aws, VersionId=token, VersionStage="AWSPENDING")
    for step in ("createSecret", "setSecret", "setSecret", "testSecret", "testSecret"):
        _step(aws, step, token)
    assert _value(aws, VersionId=token, VersionStage="AWSPENDING") == pending  # a retry keeps the first value
    assert _value(aws) == "the-old-signing-key"  # nothing is current before finishSecret
    _step(aws, "finishSecret", token)
    _step(aws, "finishSecret", token)
    _step(aws, "testSecret", token)  # once current, any step is a no-op
    assert _value(aws) == pending
    assert _value(aws, VersionStage="AWSPREVIOUS") == "the-old-signing-key"


def test_a_token_that_is_not_pending_is_refused(aws) -> None:
    aws.create_secret(Name=NAME, SecretString=json.dumps({"value": "the-old-signing-key"}))
    _rotation_enabled_with_a_pending_placeholder(aws)
    with pytest.raises(jwt_secret.RotationError, match="has no stage"):
        _step(aws, "createSecret", str(uuid.uuid4()))
    stale = str(uuid.uuid4())
    aws.put_secret_value(SecretId=NAME, ClientRequestToken=stale, SecretString="{}", VersionStages=["OLD"])
    with pytest.raises(jwt_secret.RotationError, match="is not AWSPENDING"):
        _step(aws, "createSecret", stale)


def test_a_secret_without_rotation_is_refused(aws) -> None:
    aws.create_secret(Name=NAME, SecretString=json.dumps({"value": "x"}))
    with pytest.raises(jwt_secret.RotationError, match="rotation is not enabled"):
        _step(aws, "createSecret", str(uuid.uuid4()))


def test_a_weak_pending_value_fails_the_test_step(aws) -> None:
    aws.create_secret(Name=NAME, SecretString=json.dumps({"value": "old"}))
    token = _rotation_enabled_with_a_pending_placeholder(aws)
    aws.put_secret_value(
        SecretId=NAME,
        ClientRequestToken=token,
        SecretString=json.dumps({"value": "short"}),
        VersionStages=["AWSPENDING"],
    )
    with pytest.raises(jwt_secret.RotationError, match="at least 64 characters"):
        _step(aws, "testSecret", token)
    with pytest.raises(jwt_secret.RotationError, match="unknown step"):
        _step(aws, "rotateEverything", token)


# Values people set by hand, as the adopted prod JWT may hold: the function did not make them.
ADOPTED = {
    "shorter than a generated key": json.dumps({"value": "set-by-hand-in-2023"}),
    "not JSON": "a-plain-signing-key-set-by-hand",
    "JSON without the configured property": json.dumps({"jwt": "k" * 90}),
}


@pytest.mark.parametrize("adopted", ADOPTED)
def test_setting_up_rotation_on_an_adopted_value_passes_the_configuration_check(aws, adopted: str) -> None:
    """``RotateImmediately: false`` (components/aws/secret_rotation.py): Secrets Manager "tests the
    rotation configuration by running the testSecret step ... This test creates an AWSPENDING
    version of the secret and then removes it" (RotateSecret, botocore
    data/secretsmanager/2017-10-17/service-2.json). The token is that version's ID, holding a copy
    of the current value, as moto's ``rotate_secret`` passes it (getmoto/moto#8547); a retry after
    the removal finds the token without a stage."""
    aws.create_secret(Name=NAME, SecretString=ADOPTED[adopted])
    aws.rotate_secret(
        SecretId=NAME,
        RotationLambdaARN=_function_arn(),
        RotationRules={"AutomaticallyAfterDays": 90},
        RotateImmediately=False,
    )
    ((check),) = CALLS  # the handler really ran, once, for testSecret only
    assert check["Step"] == "testSecret"
    token = check["ClientRequestToken"]
    assert "AWSPENDING" in _stages(aws)[token]
    assert aws.get_secret_value(SecretId=NAME)["SecretString"] == ADOPTED[adopted]  # nothing rotated
    # What Secrets Manager does next: removes the check's version; a late retry must still pass.
    aws.update_secret_version_stage(SecretId=NAME, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    _step(aws, "testSecret", token)
    _step(aws, "testSecret", str(uuid.uuid4()))
    # The steps that write keep refusing a token that is not pending.
    for step in ("createSecret", "setSecret", "finishSecret"):
        with pytest.raises(jwt_secret.RotationError, match=r"has no stage|is not AWSPENDING"):
            _step(aws, step, token)
    assert aws.get_secret_value(SecretId=NAME)["SecretString"] == ADOPTED[adopted]


@pytest.mark.parametrize("adopted", ADOPTED)
def test_the_first_real_rotation_replaces_an_adopted_value_with_a_generated_one(aws, adopted: str) -> None:
    """After the configuration check, the four steps as Secrets Manager calls them (moto runs the
    handler for each): whatever people stored becomes AWSPREVIOUS, unchanged."""
    aws.create_secret(Name=NAME, SecretString=ADOPTED[adopted])
    function = _function_arn()
    aws.rotate_secret(
        SecretId=NAME, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 90}, RotateImmediately=False
    )
    CALLS.clear()
    aws.rotate_secret(SecretId=NAME, RotationLambdaARN=function, RotationRules={"AutomaticallyAfterDays": 90})
    assert [call["Step"] for call in CALLS] == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    new = _value(aws)
    assert len(new) == 86  # 64 random bytes, URL-safe
    previous = aws.get_secret_value(SecretId=NAME, VersionStage="AWSPREVIOUS")["SecretString"]
    assert previous == ADOPTED[adopted]


@pytest.mark.parametrize("bad", ADOPTED)
def test_a_real_rotation_refuses_a_bad_pending_value(aws, bad: str) -> None:
    # Not the current value, so not the configuration check's copy: it must be what createSecret
    # makes, and a hand-put AWSPENDING value of another shape never becomes current.
    aws.create_secret(Name=NAME, SecretString=json.dumps({"value": "c" * 86}))
    token = _rotation_enabled_with_a_pending_placeholder(aws)
    aws.put_secret_value(
        SecretId=NAME, ClientRequestToken=token, SecretString=ADOPTED[bad], VersionStages=["AWSPENDING"]
    )
    with pytest.raises(jwt_secret.RotationError, match="holds no JSON value of at least 64 characters"):
        _step(aws, "testSecret", token)


def test_the_configuration_check_passes_on_a_secret_with_no_value_yet(aws) -> None:
    # A new stack's secret: rotation is set up before anyone stored a value. (moto's rotate_secret
    # cannot invoke the Lambda for a secret without versions, so the check is called as AWS would.)
    aws.create_secret(Name=NAME)
    aws.rotate_secret(SecretId=NAME, RotationRules={"AutomaticallyAfterDays": 90}, RotateImmediately=False)
    _step(aws, "testSecret", str(uuid.uuid4()))
    with pytest.raises(jwt_secret.RotationError, match="has no stage"):
        _step(aws, "createSecret", str(uuid.uuid4()))
