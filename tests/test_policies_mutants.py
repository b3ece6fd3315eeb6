"""The account every IAM, KMS, SNS and Secrets Manager ARN of the policies names, proven from the
settings' allowed accounts and from a stack moved to another account, never from the builder's own
`account()` (what the other policy tests compare against, so a wrong field of the OIDC ARN went
unnoticed there)."""

from __future__ import annotations

import json

from helpers import DELETE, run_changed, validated

from components.aws import policies as aws_policies
from components.kubernetes import external_secrets
from offline.harness import RunResult, stack_document

# The ARN layout AWS defines for every service: arn:partition:service:region:account-id:resource
# (AWS General Reference, "Amazon Resource Names (ARNs)",
# docs.aws.amazon.com/general/latest/gr/aws-arns-and-namespaces.html). IAM ARNs leave the region
# empty (arn:aws:iam::111122223333:role/name), so the account is the fifth field either way.
ACCOUNT_FIELD = 4
# An account no stack file uses, with an OIDC provider in it: where every ARN must move.
MOVED = "999988887777"


def _account_of(arn: str) -> str:
    return arn.split(":")[ACCOUNT_FIELD]


def _arns(document) -> list[str]:
    """Every string in a policy document that is an ARN (principals, resources, conditions)."""
    if isinstance(document, dict):
        return [arn for value in document.values() for arn in _arns(value)]
    if isinstance(document, list):
        return [arn for value in document for arn in _arns(value)]
    return [document] if isinstance(document, str) and document.startswith("arn:") else []


def _moved_config(stack: str) -> dict:
    oidc = stack_document(stack)["reconciliation-platform:aws"]["oidcProvider"]["arn"]
    resource = oidc.split(":", 5)[5]  # oidc-provider/<issuer>, as the stack file says
    inventory = stack_document(stack)["reconciliation-platform:secrets"]["inventory"]
    # A secret adopted from the old account cannot be adopted into the new one: not imported.
    adopted = {f"secrets.inventory.{i}.importArn": DELETE for i, entry in enumerate(inventory) if "importArn" in entry}
    return {
        "aws.allowedAccountIds": [MOVED],
        "aws.oidcProvider.arn": f"arn:aws:iam::{MOVED}:{resource}",
        **adopted,
    }


def test_every_arn_of_the_key_and_the_roles_is_in_an_allowed_account(result: RunResult, settings) -> None:
    """The AWS provider refuses any account outside allowedAccountIds; a policy naming another
    account (or the empty region field of an IAM ARN) would grant nothing, or to a stranger."""
    allowed = set(settings.aws.allowed_account_ids)
    documents = [json.loads(result.one("aws:kms/key:Key").inputs["policy"])]
    documents += [json.loads(r.inputs["assumeRolePolicy"]) for r in result.by_type("aws:iam/role:Role")]
    # A policy naming the key is built from its ARN, which only AWS knows: unknown in a preview.
    policies = [r.inputs["policy"] for r in result.by_type("aws:iam/rolePolicy:RolePolicy")]
    documents += [json.loads(policy) for policy in policies if isinstance(policy, str)]
    arns = [arn for document in documents for arn in _arns(document)]
    assert arns  # the key policy alone names the account's root and the reader role
    assert {_account_of(arn) for arn in arns} <= allowed
    # The scheduler's trust is conditioned on the account itself, not an ARN.
    key = "aws:SourceAccount"
    accounts = [
        statement["Condition"]["StringEquals"][key]
        for document in documents
        for statement in document["Statement"]
        if key in statement.get("Condition", {}).get("StringEquals", {})
    ]
    assert set(accounts) <= allowed


def test_moving_the_stack_to_another_account_moves_every_arn(stack: str) -> None:
    """A user's report: "we moved dev to a new account and the reader role's ARN kept the old one".
    Hand-computed: the reader role, the key's root principal and each secret's ARN pattern all say
    the new account; the ServiceAccount's IRSA annotation names the same role (EKS, "IAM roles for
    service accounts": the eks.amazonaws.com/role-arn annotation)."""
    changes = _moved_config(stack)
    settings, problems = validated(stack, changes)
    assert problems == []
    env, region = settings.environment, settings.aws.region
    reader = f"arn:aws:iam::{MOVED}:role/reconciliation-{env}-secrets-reader"
    assert aws_policies.reader_role_arn(settings) == reader
    assert (
        aws_policies.reminder_topic_arn(settings)
        == f"arn:aws:sns:{region}:{MOVED}:reconciliation-{env}-secret-reminders"
    )
    result = run_changed(stack, changes).execute()
    policy = json.loads(result.one("aws:kms/key:Key").inputs["policy"])
    by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert by_sid["AccountAdministersTheKey"]["Principal"] == {"AWS": f"arn:aws:iam::{MOVED}:root"}
    assert by_sid["ReaderDecryptsThroughSecretsManager"]["Principal"]["AWS"][0] == reader
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in result.by_type("kubernetes:core/v1:ServiceAccount")}
    annotation = accounts[settings.secrets.reader_service_account]["metadata"]["annotations"]
    assert annotation == {external_secrets.IRSA_ROLE: reader}
    (read,) = [r for r in result.by_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("-read-secrets")]
    resources = json.loads(read.inputs["policy"])["Statement"][0]["Resource"]
    assert resources == [
        f"arn:aws:secretsmanager:{region}:{MOVED}:secret:{settings.secrets.secret_name(secret, env)}-??????"
        for secret in settings.secrets.inventory
    ]


def test_the_builders_read_the_account_from_the_oidc_arn_not_a_neighbouring_field(settings) -> None:
    """The builders alone, for every stack: the fifth field, never the empty region (IAM is global)
    nor the oidc-provider/... resource."""
    account = aws_policies.account(settings)
    assert account in settings.aws.allowed_account_ids
    assert aws_policies.scheduler_trust_policy(settings)["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account}
    }
    assert aws_policies.rotation_role_arn(settings, settings.secrets.inventory[0]).startswith(
        f"arn:aws:iam::{account}:"
    )
