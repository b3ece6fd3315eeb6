"""The AWS side of the secrets, on the wire: explicit provider, KMS key, inventory secrets without
values, and an IRSA role whose documents are least privilege. Every stack file."""

from __future__ import annotations

import json

from components.aws import policies as aws_policies
from offline.harness import RunResult, StackRun, run_stack, stack_config, stack_document
from settings.stack import StackSettings

NS = "reconciliation-platform"
AWS_PROVIDER = "pulumi:providers:aws"


def _document(result: RunResult, type_token: str, name_suffix: str, key: str = "policy") -> dict:
    (resource,) = [r for r in result.by_type(type_token) if r.name.endswith(name_suffix)]
    return json.loads(resource.inputs[key])


def _external_secret(result: RunResult, name: str = "reconciliation-secrets"):
    (found,) = [
        r
        for r in result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
        if r.inputs["metadata"]["name"] == name
    ]
    return found


def test_automatically_rotated_secrets_also_sync_their_previous_version(result: RunResult, settings) -> None:
    """In the same ExternalSecret as the current values, so one sync writes both: two objects
    refreshing on their own clocks would pair a new key with a stale previous one."""
    data = _external_secret(result).inputs["spec"]["data"]
    rotated = [s for s in settings.secrets.inventory if s.automation == "automated"]
    previous = [entry for entry in data if entry["remoteRef"].get("version") == "AWSPREVIOUS"]
    assert [entry["secretKey"] for entry in previous] == [f"{s.name}_PREVIOUS" for s in rotated]
    assert [entry["secretKey"] for entry in data if entry not in previous] == [
        s.name for s in settings.secrets.inventory
    ]
    assert len(result.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")) == 1


def identity_policy_problems(document: dict) -> list[str]:
    """What a reviewer refuses in an identity policy: a bare `*` resource or action."""
    found = []
    for statement in document["Statement"]:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "*" in resources or not resources:
            found.append(f"{statement.get('Sid')}: a bare * (or no) resource")
        if any(action == "*" or action.endswith(":*") for action in actions):
            found.append(f"{statement.get('Sid')}: a wildcard action")
    return found


def trust_problems(document: dict, issuer: str, subject: str) -> list[str]:
    (statement,) = document["Statement"]
    condition = statement.get("Condition", {}).get("StringEquals", {})
    found = []
    if condition.get(f"{issuer}:aud") != "sts.amazonaws.com":
        found.append("no aud condition")
    if condition.get(f"{issuer}:sub") != subject:
        found.append("no sub condition for exactly the reader ServiceAccount")
    return found


def test_every_stack_file_disables_the_default_aws_provider(stack: str) -> None:
    disabled = stack_document(stack).get("pulumi:disable-default-providers", [])
    assert "aws" in disabled or "*" in disabled


def test_aws_resources_go_through_the_stack_provider(result: RunResult, settings: StackSettings) -> None:
    provider = result.one(AWS_PROVIDER)
    assert provider.inputs["region"] == settings.aws.region
    assert json.loads(provider.inputs["allowedAccountIds"]) == list(settings.aws.allowed_account_ids)
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert {
        "project": "reconciliation-platform",
        "stack": settings.environment,
        "managed-by": "pulumi",
    }.items() <= tags.items()
    aws = [r for r in result.resources if r.type.startswith("aws:")]
    rotated = aws_policies.rotated(settings)
    # reader role and its two policies, key, alias, the secrets; per rotated secret its role,
    # policy, log group, function, invoke permission and schedule
    reminders = 3 + len(settings.secrets.inventory) + len(settings.secrets.reminder_emails)  # role, topic, policy
    assert len(aws) == 5 + len(settings.secrets.inventory) + 6 * len(rotated) + reminders
    assert all(r.provider.startswith(provider.urn + "::") for r in aws)


def test_a_hostile_shell_does_not_move_the_stack_to_another_region(result: RunResult, stack: str) -> None:
    config, secret_keys = stack_config(stack)
    hostile = {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "ap-southeast-2", "AWS_PROFILE": "someone-else"}
    again = StackRun(stack, config, secret_keys, environ=hostile).execute()
    assert repr(again.one(AWS_PROVIDER).inputs) == repr(result.one(AWS_PROVIDER).inputs)


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
    assert identity_policy_problems(wildcard) == ["Bad: a bare * (or no) resource"]
    admin = {"Statement": [{"Sid": "Admin", "Action": "kms:*", "Resource": ["arn:aws:kms:x"]}]}
    assert identity_policy_problems(admin) == ["Admin: a wildcard action"]
    no_aud = {"Statement": [{"Condition": {"StringEquals": {"issuer:sub": "system:serviceaccount:ns:sa"}}}]}
    assert trust_problems(no_aud, "issuer", "system:serviceaccount:ns:sa") == ["no aud condition"]


def test_prod_adopts_the_platforms_existing_secrets() -> None:
    result = run_stack("prod")
    imports = {r.inputs["name"]: r.import_id for r in result.by_type("aws:secretsmanager/secret:Secret")}
    assert imports["reconciliation/jwt-secret"].startswith(
        "arn:aws:secretsmanager:eu-west-1:444455556666:secret:reconciliation/jwt-secret-"
    )
    assert all(imports.values())
    external = _external_secret(result).inputs["spec"]
    jwt = next(entry for entry in external["data"] if entry["secretKey"] == "JWT_SECRET")
    assert jwt["remoteRef"] == {"key": "reconciliation/jwt-secret", "property": "value"}  # as the platform reads it
    # A missing AWSPREVIOUS (before a first rotation) is skipped, never a failed sync; a key whose
    # secret disappears from AWS is dropped while the Secret and its other keys stay.
    assert external["target"]["deletionPolicy"] == "Merge"


def test_the_cluster_side_reads_through_the_reader_only(result: RunResult, settings: StackSettings) -> None:
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in result.by_type("kubernetes:core/v1:ServiceAccount")}
    reader = accounts[settings.secrets.reader_service_account]
    assert reader["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": aws_policies.reader_role_arn(settings)}
    store = result.one("kubernetes:external-secrets.io/v1:SecretStore").inputs
    assert store["spec"]["provider"]["aws"]["auth"] == {
        "jwt": {"serviceAccountRef": {"name": settings.secrets.reader_service_account}}
    }
    external = _external_secret(result)
    # Synced, not just Ready: External Secrets is Ready with reason SecretDeleted after an empty sync
    # (external-secrets pkg/controllers/externalsecret/externalsecret_controller.go, markAsDone).
    assert external.inputs["metadata"]["annotations"] == {
        "pulumi.com/waitFor": 'jsonpath={.status.conditions[?(@.type=="Ready")].reason}=SecretSynced'
    }
    assert external.inputs["spec"]["refreshInterval"] == settings.secrets.refresh_interval
    deployment = result.one("kubernetes:apps/v1:Deployment")
    assert external.urn in deployment.depends_on  # no rollout before the Secret exists


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


def test_the_cluster_side_waits_for_the_aws_side(result: RunResult) -> None:
    # Depending on the component means on everything in it (the SDK lists its resources).
    aws_side = {r.urn for r in (result.one("aws:kms/key:Key"), *result.by_type("aws:iam/role:Role"))}
    aws_side |= {r.urn for r in result.by_type("aws:secretsmanager/secret:Secret")}
    for kind in ("SecretStore", "ExternalSecret"):
        for resource in result.by_type(f"kubernetes:external-secrets.io/v1:{kind}"):
            assert aws_side <= set(resource.depends_on)


def test_await_all_in_the_shell_meets_no_object_that_is_never_ready(stack: str) -> None:
    """PULUMI_K8S_AWAIT_ALL=true makes pulumi-kubernetes await every object with its generic
    readiness check (provider/pkg/metadata/overrides.go, ReadyCondition; pulumi.com/skipAwait opts
    one out). The only object that could not become Ready, an ExternalSecret of previous values
    before any rotation, does not exist: the previous values are entries of the one awaited
    ExternalSecret, which External Secrets skips while absent. The program's registrations do not
    depend on the variable."""
    plain = StackRun(stack).execute()
    awaited = StackRun(stack, environ={"PULUMI_K8S_AWAIT_ALL": "true"}).execute()

    def wire(result: RunResult) -> list[tuple[str, str]]:  # markers (<secret>) compare by their text
        return sorted((r.urn, repr(r.inputs)) for r in result.resources)

    assert wire(awaited) == wire(plain)
    (external,) = awaited.by_type("kubernetes:external-secrets.io/v1:ExternalSecret")
    assert "pulumi.com/waitFor" in external.inputs["metadata"]["annotations"]
