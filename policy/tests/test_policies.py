"""Every policy against the resources rendered from every stack file (all pass), and against a
broken variant of them (the policy fires, naming the resource)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parents[1]
ROOT = PACK.parent
sys.path.insert(0, str(PACK))

from policies import POLICIES  # noqa: E402

from offline import violations  # noqa: E402

STACKS = sorted(path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml"))


# A folder the caller rendered every stack into already, as the render CLI writes them: the
# program's suite passes its own (tests/test_policy_pack.py), which saves a render here.
RENDERS = "POLICY_TEST_RENDERS"


@pytest.fixture(scope="session")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Each stack rendered by the program's own environment (./venv), as the render CLI writes it:
    every stack in one process, which imports the SDKs once (or the renders in $POLICY_TEST_RENDERS)."""
    if given := os.environ.get(RENDERS):
        out = Path(given)
    else:
        out = tmp_path_factory.mktemp("render")
        command = [str(ROOT / "venv" / "bin" / "python"), "-m", "offline.render", "--stacks", *STACKS]
        subprocess.run([*command, "--out", str(out)], cwd=ROOT, check=True, capture_output=True)
    return {stack: json.loads((out / stack / "plan.json").read_text(encoding="utf-8")) for stack in STACKS}


def _one(plan: dict, resource_type: str) -> dict:
    (entry,) = [r for r in plan["resources"] if r["type"] == resource_type]
    return entry


def _fired(plan: dict, policy: str) -> list[str]:
    return [message for name, message in violations(plan) if name == policy]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_every_policy(plans: dict, stack: str) -> None:
    assert violations(plans[stack]) == []
    assert len(POLICIES) == 9


def _broken(plans: dict, stack: str, resource_type: str, change: Callable[[dict], None]) -> dict:
    plan = copy.deepcopy(plans[stack])
    change(_one(plan, resource_type))
    return plan


@pytest.mark.parametrize("stack", STACKS)
def test_a_container_without_a_memory_limit_is_refused(plans: dict, stack: str) -> None:
    def drop(entry: dict) -> None:
        del entry["inputs"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]

    plan = _broken(plans, stack, "kubernetes:apps/v1:Deployment", drop)
    name = _one(plan, "kubernetes:apps/v1:Deployment")["name"]
    assert _fired(plan, "container-resources") == [
        f"kubernetes:apps/v1:Deployment '{name}': container 'backend' has no limits.memory"
    ]


def _min_replicas(value: int) -> Callable[[dict], None]:
    def change(entry: dict) -> None:
        entry["inputs"]["spec"]["minReplicas"] = value

    return change


def test_a_production_hpa_below_two_is_refused_and_only_in_production(plans: dict) -> None:
    hpa = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
    prod = _broken(plans, "prod", hpa, _min_replicas(1))
    assert _fired(prod, "production-hpa-min-replicas") == [
        f"{hpa} 'backend': minReplicas is 1; production needs at least 2 to survive a drain"
    ]
    assert _fired(_broken(plans, "dev", hpa, _min_replicas(1)), "production-hpa-min-replicas") == []


@pytest.mark.parametrize("stack", STACKS)
def test_a_budget_that_blocks_a_drain_is_refused(plans: dict, stack: str) -> None:
    floor = _one(plans[stack], "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")["inputs"]["spec"]["minReplicas"]

    def block(entry: dict) -> None:
        entry["inputs"]["spec"].pop("maxUnavailable", None)
        entry["inputs"]["spec"]["minAvailable"] = floor

    plan = _broken(plans, stack, "kubernetes:policy/v1:PodDisruptionBudget", block)
    (message,) = _fired(plan, "pdb-allows-drain")
    assert message.startswith("kubernetes:policy/v1:PodDisruptionBudget 'backend': lets 0 of")
    assert message.endswith("go at the autoscaler's minimum: a node drain would block")


@pytest.mark.parametrize("stack", STACKS)
def test_external_secrets_v1beta1_is_refused(plans: dict, stack: str) -> None:
    plan = copy.deepcopy(plans[stack])
    store = _one(plan, "kubernetes:external-secrets.io/v1:SecretStore")
    store["type"] = "kubernetes:external-secrets.io/v1beta1:SecretStore"
    store["inputs"]["apiVersion"] = "external-secrets.io/v1beta1"
    assert _fired(plan, "no-external-secrets-v1beta1") == [
        f"kubernetes:external-secrets.io/v1beta1:SecretStore '{store['name']}': external-secrets.io/v1beta1 is "
        "no longer served; use v1"
    ]


@pytest.mark.parametrize("key", [None, "alias/aws/secretsmanager"])
def test_a_secret_on_the_aws_managed_key_is_refused(plans: dict, key: str | None) -> None:
    plan = copy.deepcopy(plans["dev"])
    secret = next(r for r in plan["resources"] if r["type"] == "aws:secretsmanager/secret:Secret")
    if key is None:
        del secret["inputs"]["kmsKeyId"]
    else:
        secret["inputs"]["kmsKeyId"] = key
    assert _fired(plan, "secrets-customer-managed-key") == [
        f"aws:secretsmanager/secret:Secret '{secret['name']}': encrypted with the AWS-managed key; set kmsKeyId to "
        "a customer key"
    ]


@pytest.mark.parametrize("as_text", [False, True])
def test_a_bare_wildcard_resource_is_refused(plans: dict, as_text: bool) -> None:
    plan = copy.deepcopy(plans["prod"])
    policy = next(r for r in plan["resources"] if r["name"] == "secrets-read-secrets")
    document = policy["inputs"]["policy"]
    document["Statement"][0]["Resource"] = "*"
    sid = document["Statement"][0]["Sid"]
    if as_text:  # what `pulumi preview` hands over: the document as JSON text
        policy["inputs"]["policy"] = json.dumps(document)
    assert _fired(plan, "no-wildcard-resource") == [
        f"aws:iam/rolePolicy:RolePolicy 'secrets-read-secrets': statement 0 ({sid}) allows a bare '*' resource"
    ]
    assert _fired(plan, "no-wildcard-action") == []


@pytest.mark.parametrize("action", ["*", "secretsmanager:*"])
def test_a_wildcard_action_is_refused(plans: dict, action: str) -> None:
    plan = copy.deepcopy(plans["prod"])
    policy = next(r for r in plan["resources"] if r["name"] == "secrets-read-secrets")
    statement = policy["inputs"]["policy"]["Statement"][0]
    statement["Action"] = [*statement["Action"], action]
    assert _fired(plan, "no-wildcard-action") == [
        f"aws:iam/rolePolicy:RolePolicy 'secrets-read-secrets': statement 0 ({statement['Sid']}) allows the wildcard "
        f"action {action}"
    ]
    assert _fired(plan, "no-wildcard-resource") == []


@pytest.mark.parametrize("stack", STACKS)
def test_an_alert_rule_without_a_runbook_is_refused(plans: dict, stack: str) -> None:
    plan = copy.deepcopy(plans[stack])
    group = _one(plan, "grafana:alerting/ruleGroup:RuleGroup")
    del group["inputs"]["rules"][1]["annotations"]["runbook_url"]
    assert _fired(plan, "alert-rules-have-runbooks") == [
        f"grafana:alerting/ruleGroup:RuleGroup '{group['name']}': rule '{group['inputs']['rules'][1]['name']}' has "
        "no runbook_url annotation"
    ]


@pytest.mark.parametrize("provider", ["", "pulumi:providers:kubernetes::default_4_34_2"])
def test_a_resource_on_a_default_provider_is_refused(plans: dict, provider: str) -> None:
    plan = copy.deepcopy(plans["dev"])
    service = _one(plan, "kubernetes:core/v1:Service")
    service["provider"] = provider
    assert _fired(plan, "explicit-provider") == [
        f"kubernetes:core/v1:Service '{service['name']}': uses the default provider; pass the stack's explicit provider"
    ]


def test_the_stack_components_and_providers_need_no_provider(plans: dict) -> None:
    from policies import explicit_provider

    components = [r for r in plans["prod"]["resources"] if r["type"].startswith("reconciliation:")]
    assert len(components) >= 5  # in the plan, with no provider, and passing (see above)
    assert explicit_provider("pulumi:pulumi:Stack", "reconciliation-platform-prod", None) == []
    assert explicit_provider("pulumi:providers:aws", "aws-prod", None) == []


def test_not_resource_is_as_broad_as_a_wildcard(plans: dict) -> None:
    plan = copy.deepcopy(plans["prod"])
    policy = next(r for r in plan["resources"] if r["name"] == "secrets-read-secrets")
    statement = policy["inputs"]["policy"]["Statement"][0]
    statement["NotResource"] = statement.pop("Resource")
    assert _fired(plan, "no-wildcard-resource") == [
        f"aws:iam/rolePolicy:RolePolicy 'secrets-read-secrets': statement 0 ({statement['Sid']}) allows NotResource, "
        "as broad as '*'"
    ]
