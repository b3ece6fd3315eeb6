"""The IAM and KMS documents (components/aws/policies.py): least privilege on the wire, and the
account every ARN names, proven from the settings' allowed accounts and from a stack moved to
another account, never from the builder's own arithmetic."""

from __future__ import annotations

import json

from helpers import DELETE, identity_policy_problems, run_changed, trust_problems, validated

from components.aws import policies as aws_policies
from components.kubernetes import external_secrets
from offline.harness import RunResult, stack_document
from settings.stack import StackSettings


def _document(result: RunResult, type_token: str, name_suffix: str, key: str = "policy") -> dict:
    (resource,) = [r for r in result.by_type(type_token) if r.name.endswith(name_suffix)]
    return json.loads(resource.inputs[key])


def test_the_key_policy_admits_the_account_and_exactly_the_reader(result: RunResult, settings: StackSettings) -> None:
    policy = json.loads(result.one("aws:kms/key:Key").inputs["policy"])
    by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
    account = aws_policies.account(settings)
    assert by_sid["AccountAdministersTheKey"]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert "kms:Decrypt" not in by_sid["AccountAdministersTheKey"]["Action"]
    decrypt = by_sid["ReaderDecryptsThroughSecretsManager"]
    rotators = [
        f"arn:aws:iam::{account}:role/reconciliation-{settings.environment}-rotate-{s.name.lower().replace('_', '-')}"
        for s in settings.secrets.inventory
        if s.automation == "automated"
    ]
    assert decrypt["Principal"] == {"AWS": [aws_policies.reader_role_arn(settings), *rotators]}
    assert decrypt["Action"] == ["kms:Decrypt"]
    via = {"kms:ViaService": f"secretsmanager.{settings.aws.region}.amazonaws.com"}
    assert decrypt["Condition"] == {"StringEquals": via}
    assert by_sid["WritersEncryptThroughSecretsManager"]["Condition"] == {"StringEquals": via}


def test_the_reader_role_is_least_privilege(result: RunResult, settings: StackSettings) -> None:
    issuer = settings.aws.oidc_provider.issuer
    subject = f"system:serviceaccount:{settings.kubernetes.namespace}:{settings.secrets.reader_service_account}"
    trust = _document(result, "aws:iam/role:Role", "-reader", "assumeRolePolicy")
    assert trust_problems(trust, issuer, subject) == []
    assert trust["Statement"][0]["Principal"] == {"Federated": settings.aws.oidc_provider.arn}
    read = _document(result, "aws:iam/rolePolicy:RolePolicy", "-read-secrets")
    assert identity_policy_problems(read) == []
    (statement,) = read["Statement"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    account = aws_policies.account(settings)
    assert statement["Resource"] == [
        f"arn:aws:secretsmanager:{settings.aws.region}:{account}:secret:"
        f"{settings.secrets.secret_name(secret, settings.environment)}-??????"
        for secret in settings.secrets.inventory
    ]
    # The decrypt statement needs the key's ARN, which only AWS knows: built from it after apply.
    decrypt = aws_policies.decrypt_policy(settings, "arn:aws:kms:eu-west-1:111122223333:key/abc")
    assert identity_policy_problems(decrypt) == []
    assert decrypt["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"].startswith("secretsmanager.")


def test_the_policy_checks_catch_a_wildcard_and_a_missing_aud() -> None:
    # Proves the assertions above can fail.
    wildcard = {"Statement": [{"Sid": "Bad", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}]}
    assert identity_policy_problems(wildcard) == ["statement 0 (Bad) allows a bare '*' resource"]
    admin = {"Statement": [{"Sid": "Admin", "Action": "kms:*", "Resource": ["arn:aws:kms:x"]}]}
    assert identity_policy_problems(admin) == ["statement 0 (Admin) allows the wildcard action kms:*"]
    no_aud = {"Statement": [{"Condition": {"StringEquals": {"issuer:sub": "system:serviceaccount:ns:sa"}}}]}
    assert trust_problems(no_aud, "issuer", "system:serviceaccount:ns:sa") == ["no aud condition"]


def test_the_key_policy_is_exactly_this(result: RunResult, settings: StackSettings) -> None:
    account, region = aws_policies.account(settings), settings.aws.region
    via = {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}
    env = settings.environment
    rotators = [f"arn:aws:iam::{account}:role/reconciliation-{env}-rotate-jwt-secret"]
    statements = {s["Sid"]: s for s in json.loads(result.one("aws:kms/key:Key").inputs["policy"])["Statement"]}
    assert statements["WritersEncryptThroughSecretsManager"] == {
        "Sid": "WritersEncryptThroughSecretsManager",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": via,
    }
    assert statements["RemindersEncryptThroughSns"]["Principal"] == {
        "AWS": [f"arn:aws:iam::{account}:role/reconciliation-{env}-secret-reminders"]
    }
    assert statements["ReaderDecryptsThroughSecretsManager"]["Principal"] == {
        "AWS": [f"arn:aws:iam::{account}:role/reconciliation-{env}-secrets-reader", *rotators]
    }
    assert sorted(statements) == [
        "AccountAdministersTheKey",
        "ReaderDecryptsThroughSecretsManager",
        "RemindersEncryptThroughSns",
        "WritersEncryptThroughSecretsManager",
    ]
    # KMS refuses a policy naming a role that does not exist yet: the key waits for every one.
    key = result.one("aws:kms/key:Key")
    roles = [r.urn for r in result.by_type("aws:iam/role:Role")]
    assert set(roles) <= set(key.depends_on)


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
