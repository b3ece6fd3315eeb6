"""Secrets Manager rotation function for a generated secret (the backend's JWT signing key).

Secrets Manager calls it four times per rotation, each with the secret, a version token and a step
(https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):

- ``createSecret``: store a new random value under the token as ``AWSPENDING`` (once: a retry finds
  it there and keeps it);
- ``setSecret``: nothing to set elsewhere, a signing key lives only here;
- ``testSecret``: the pending value is well-formed and strong enough;
- ``finishSecret``: move ``AWSCURRENT`` to the token; the old value becomes ``AWSPREVIOUS``.

Every step is safe to repeat. A token that is not the secret's ``AWSPENDING`` version is refused, and
so is a secret with rotation disabled. The value is JSON ``{<property>: <value>}``; the property comes
from ``SECRET_PROPERTY`` (default ``value``). No value is ever logged.
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
    metadata = client.describe_secret(SecretId=arn)
    if not metadata.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled for {arn}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise RotationError(f"version {token} has no stage for the rotation of {arn}")
    if "AWSCURRENT" in stages[token]:
        LOG.info("%s: version %s is already AWSCURRENT", step, token)
        return
    if "AWSPENDING" not in stages[token]:
        raise RotationError(f"version {token} of {arn} is not AWSPENDING")
    steps = {"createSecret": create_secret, "setSecret": set_secret, "testSecret": test_secret}
    steps["finishSecret"] = finish_secret
    if step not in steps:
        raise RotationError(f"unknown step {step}")
    steps[step](client, arn, token)


def _property() -> str:
    return os.environ.get("SECRET_PROPERTY", "value")


def create_secret(client, arn: str, token: str) -> None:
    # A generated secret needs no current value to make the next one: the first rotation of a
    # new, empty secret gives it its first value.
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
        # Secrets Manager's check of the configuration when rotation is set up without rotating:
        # no createSecret ran, so there is nothing to test yet.
        LOG.info("testSecret: version %s of %s has no value yet (configuration check)", token, arn)
        return
    value = json.loads(pending["SecretString"]).get(_property())
    if not isinstance(value, str) or len(value) < MIN_LENGTH:
        raise RotationError(f"version {token} of {arn} holds no {_property()} of at least {MIN_LENGTH} characters")
    LOG.info("testSecret: version %s of %s is well-formed", token, arn)


def finish_secret(client, arn: str, token: str) -> None:
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)
    if current == token:
        return
    move = {"SecretId": arn, "VersionStage": "AWSCURRENT", "MoveToVersionId": token}
    client.update_secret_version_stage(**move, **({"RemoveFromVersionId": current} if current else {}))
    LOG.info("finishSecret: version %s of %s is AWSCURRENT, %s AWSPREVIOUS", token, arn, current)
