"""Secrets Manager rotation function for a generated secret (the backend's JWT signing key).

Secrets Manager calls it four times per rotation, each with the secret, a version token and a step
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):

- ``createSecret``: store a new random value under the token as ``AWSPENDING`` (once: a retry finds
  it there and keeps it);
- ``setSecret``: nothing to set elsewhere, a signing key lives only here;
- ``testSecret``: the pending value is well-formed and strong enough;
- ``finishSecret``: move ``AWSCURRENT`` to the token; the old value becomes ``AWSPREVIOUS``.

It is also called once, with ``testSecret`` only, when rotation is set up without rotating
(``RotateImmediately: false``, what the program does for an adopted secret). Secrets Manager then
"tests the rotation configuration by running the testSecret step ... This test creates an AWSPENDING
version of the secret and then removes it" (RotateSecret API, botocore
``data/secretsmanager/2017-10-17/service-2.json``). The token is that version's ID, the
``ClientRequestToken`` of the ``RotateSecret`` call (the SDK generates it; the response's
``VersionId``), and the version holds a copy of the current value: the AWS templates' ``testSecret``
logs in with the pending value (aws-samples/aws-secrets-manager-rotation-lambdas,
``SecretsManagerRDSPostgreSQLRotationSingleUser/lambda_function.py``), and moto does the same
(getmoto/moto#8547, ``moto/secretsmanager/models.py`` ``rotate_secret``). That copy is whatever
people stored (shorter than a generated key, not JSON, JSON without the property): it is accepted
as it is, because the check must not fail on a value this function did not make and will replace.
A retry after Secrets Manager removed the version finds a token with no stage, or no longer
``AWSPENDING``: ``testSecret`` changes nothing, so it only checks that the current value can be read.

Every step is safe to repeat. For the other three steps a token that is not the secret's
``AWSPENDING`` version is refused, and any step of a secret with rotation disabled. A pending value
that is not the current one (what ``createSecret`` stored, or what someone put as ``AWSPENDING``)
must be JSON ``{<property>: <at least 64 characters>}``; the property comes from ``SECRET_PROPERTY``
(default ``value``). No value is ever logged.
"""

from __future__ import annotations

import json
import logging
import os
import secrets

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
# 64 random bytes, URL-safe: 86 characters, far above HS256's 256-bit minimum.
RANDOM_BYTES = 64
MIN_LENGTH = 64


class RotationError(ValueError):
    """The call does not belong to a rotation this function may carry out."""


def lambda_handler(event: dict, context: object, client=None) -> None:
    client = client or boto3.client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    steps = {"createSecret": create_secret, "setSecret": set_secret, "testSecret": test_secret}
    steps["finishSecret"] = finish_secret
    if step not in steps:
        raise RotationError(f"unknown step {step}")
    metadata = client.describe_secret(SecretId=arn)
    enabled = metadata.get("RotationEnabled")  # null: never configured (DescribeSecret API)
    # testSecret writes nothing, so, like AWS's own RDS templates, it refuses only rotation turned
    # off: RotateSecret is asynchronous, and its check must not depend on when DescribeSecret shows it.
    if enabled is False or (enabled is None and step != "testSecret"):
        raise RotationError(f"rotation is not enabled for {arn}")
    stages = metadata.get("VersionIdsToStages", {}).get(token)
    if stages and "AWSCURRENT" in stages:
        LOG.info("%s: version %s is already AWSCURRENT", step, token)
        return
    if step == "testSecret" and (stages is None or "AWSPENDING" not in stages):
        # The configuration check's version is removed once it is done: a late or retried call
        # must not fail the set-up. Nothing is written here, so nothing unsafe can follow:
        # finishSecret still refuses a token that is not AWSPENDING.
        LOG.info("testSecret: version %s of %s is not pending (configuration check)", token, arn)
        _read_current(client, arn)
        return
    if stages is None:
        raise RotationError(f"version {token} has no stage for the rotation of {arn}")
    if "AWSPENDING" not in stages:
        raise RotationError(f"version {token} of {arn} is not AWSPENDING")
    steps[step](client, arn, token)


def _property() -> str:
    return os.environ.get("SECRET_PROPERTY", "value")


def _read_current(client, arn: str) -> tuple | None:
    """The current value (string, binary), or None for a secret with no value yet. Reading it is
    also what the configuration check proves: the role may read the secret and decrypt its key."""
    try:
        current = client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    except client.exceptions.ResourceNotFoundException:
        return None
    return current.get("SecretString"), current.get("SecretBinary")


def create_secret(client, arn: str, token: str) -> None:
    # A generated secret needs no current value to make the next one: the first rotation of a
    # new, empty secret gives it its first value, and an adopted value of any shape is replaced.
    try:
        client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        LOG.info("createSecret: version %s of %s has a value already", token, arn)
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    value = json.dumps({_property(): secrets.token_urlsafe(RANDOM_BYTES)})
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=value, VersionStages=["AWSPENDING"])
    LOG.info("createSecret: stored a new value as version %s of %s", token, arn)


def set_secret(client, arn: str, token: str) -> None:
    LOG.info("setSecret: nothing to set for %s: the key is only read from Secrets Manager", arn)


def test_secret(client, arn: str, token: str) -> None:
    try:
        pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    except client.exceptions.ResourceNotFoundException:
        # A pending version with no value: no createSecret ran, so there is nothing to test yet.
        LOG.info("testSecret: version %s of %s has no value yet (configuration check)", token, arn)
        _read_current(client, arn)
        return
    value = pending.get("SecretString"), pending.get("SecretBinary")
    if value == _read_current(client, arn):
        # The configuration check's copy of the current value: people set it, this function
        # replaces it at the first rotation; its shape is not this function's to judge.
        LOG.info("testSecret: version %s of %s holds the current value (configuration check)", token, arn)
        return
    if not _well_formed(value[0]):
        raise RotationError(f"version {token} of {arn} holds no JSON {_property()} of at least {MIN_LENGTH} characters")
    LOG.info("testSecret: version %s of %s is well-formed", token, arn)


def _well_formed(text: str | None) -> bool:
    """What createSecret makes: a JSON object whose property is a long enough string."""
    try:
        document = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return False
    value = document.get(_property()) if isinstance(document, dict) else None
    return isinstance(value, str) and len(value) >= MIN_LENGTH


def finish_secret(client, arn: str, token: str) -> None:
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)
    if current == token:
        return
    move = {"SecretId": arn, "VersionStage": "AWSCURRENT", "MoveToVersionId": token}
    client.update_secret_version_stage(**move, **({"RemoveFromVersionId": current} if current else {}))
    LOG.info("finishSecret: version %s of %s is AWSCURRENT, %s AWSPREVIOUS", token, arn, current)
