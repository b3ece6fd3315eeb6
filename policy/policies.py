"""The platform's guardrails as CrossGuard policies. Each check is a plain function of a resource's
type, name and inputs (or of the whole stack), so the same code runs under `pulumi preview
--policy-pack policy` and over the offline render (policy/offline.py); a message always names
the resource it is about."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from guardrails import broad_grants, count_of
from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

WORKLOADS = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "aws:secretsmanager/secret:Secret"
# Identity policies (attached to a principal): where a bare "*" resource grants everything.
IDENTITY_POLICIES = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
RULE_GROUP = "grafana:alerting/ruleGroup:RuleGroup"
DEFAULT_PRODUCTION_STACKS = ["prod"]
# The packages whose resources a provider plugin manages: every one of them needs an explicit provider.
PROVIDER_PACKAGES = {"aws", "kubernetes", "grafana"}


def _label(resource_type: str, name: str) -> str:
    return f"{resource_type} '{name}'"


def _unknown(value: Any) -> bool:
    # Known only after apply: `pulumi preview` leaves it out, the offline render marks it.
    return value is None or (isinstance(value, str) and value.startswith("<unknown"))


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def container_resources(resource_type: str, name: str, props: Mapping) -> list[str]:
    path = WORKLOADS.get(resource_type)
    if path is None:
        return []
    pod = _dig(props, *path) or {}
    found = []
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        resources = container.get("resources") or {}
        missing = [
            f"{kind}.{what}"
            for kind, what in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
            if not (resources.get(kind) or {}).get(what)
        ]
        if missing:
            found.append(
                f"{_label(resource_type, name)}: container '{container.get('name')}' has no {', '.join(missing)}"
            )
    return found


def stack_of(urn: str) -> str:
    return urn.split("::", maxsplit=1)[0].removeprefix("urn:pulumi:")


def production_hpa_keeps_two(resource_type: str, name: str, props: Mapping, production: bool) -> list[str]:
    if resource_type != HPA or not production:
        return []
    floor = _dig(props, "spec", "minReplicas")
    floor = 1 if floor is None else floor
    if _unknown(floor) or floor >= 2:
        return []
    return [f"{_label(resource_type, name)}: minReplicas is {floor}; production needs at least 2 to survive a drain"]


def budgets_allow_a_drain(resources: Iterable[tuple[str, str, Mapping]]) -> list[str]:
    """Every PDB lets at least one pod go when its workload runs at the HPA's minimum."""
    resources = list(resources)
    found = []
    for resource_type, name, pdb in resources:
        if resource_type != PDB:
            continue
        selector = _dig(pdb, "spec", "selector", "matchLabels") or {}
        namespace = _dig(pdb, "metadata", "namespace")
        for kind, deployment_name, deployment in resources:
            labels = _dig(deployment, "spec", "template", "metadata", "labels") or {}
            same_namespace = _dig(deployment, "metadata", "namespace") == namespace
            if kind != DEPLOYMENT or not same_namespace or not selector or not selector.items() <= labels.items():
                continue
            target = _dig(deployment, "metadata", "name")
            floors = [
                _dig(hpa, "spec", "minReplicas") or 1
                for hpa_kind, _hpa_name, hpa in resources
                if hpa_kind == HPA and _dig(hpa, "spec", "scaleTargetRef", "name") == target
            ]
            pods = min(floors) if floors else (_dig(deployment, "spec", "replicas") or 1)
            spec = pdb.get("spec") or {}
            if spec.get("minAvailable") is not None:
                allowed = pods - count_of(spec["minAvailable"], pods, round_up=True)
            else:
                allowed = count_of(spec.get("maxUnavailable", 0), pods, round_up=True)
            if allowed < 1:
                found.append(
                    f"{_label(PDB, name)}: lets {max(allowed, 0)} of {pods} pods of Deployment '{deployment_name}' "
                    "go at the autoscaler's minimum: a node drain would block"
                )
    return found


def no_external_secrets_v1beta1(resource_type: str, name: str, props: Mapping) -> list[str]:
    version = props.get("apiVersion")
    if "external-secrets.io/v1beta1" in (resource_type, version) or resource_type.startswith(
        "kubernetes:external-secrets.io/v1beta1:"
    ):
        return [f"{_label(resource_type, name)}: external-secrets.io/v1beta1 is no longer served; use v1"]
    return []


def secrets_use_a_customer_managed_key(resource_type: str, name: str, props: Mapping) -> list[str]:
    if resource_type != SECRET:
        return []
    key = props.get("kmsKeyId")
    if _unknown(key) and "kmsKeyId" in props:
        return []  # a key created in the same stack: known after apply
    if not key or str(key).endswith("alias/aws/secretsmanager"):
        return [f"{_label(resource_type, name)}: encrypted with the AWS-managed key; set kmsKeyId to a customer key"]
    return []


def _identity_documents(resource_type: str, props: Mapping) -> list[Any]:
    """The identity-policy documents a resource attaches, left out while still unknown."""
    field = IDENTITY_POLICIES.get(resource_type)
    documents = [props.get(field)] if field else []
    if resource_type == "aws:iam/role:Role":
        documents = [inline.get("policy") for inline in props.get("inlinePolicies") or []]
    return [document for document in documents if not _unknown(document)]


def broad_identity_grants(resource_type: str, name: str, props: Mapping, kind: str) -> list[str]:
    """Each statement granting a wildcard ``kind`` ("resource" or "action"), named."""
    return [
        f"{_label(resource_type, name)}: {grant}"
        for document in _identity_documents(resource_type, props)
        for grant in broad_grants(document)
        if grant.kind == kind
    ]


def alert_rules_have_runbooks(resource_type: str, name: str, props: Mapping) -> list[str]:
    if resource_type != RULE_GROUP:
        return []
    return [
        f"{_label(resource_type, name)}: rule '{rule.get('name')}' has no runbook_url annotation"
        for rule in props.get("rules") or []
        if not (rule.get("annotations") or {}).get("runbook_url")
    ]


def explicit_provider(resource_type: str, name: str, provider_urn: str | None) -> list[str]:
    # The stack, components and providers have no provider of their own; the engine shows them too.
    if resource_type.split(":", maxsplit=1)[0] not in PROVIDER_PACKAGES:
        return []
    provider_name = (provider_urn or "").split("::")[-1]
    if provider_urn and not provider_name.startswith("default"):
        return []
    return [f"{_label(resource_type, name)}: uses the default provider; pass the stack's explicit provider"]


def _resource_policy(
    name: str, description: str, check: Callable[[ResourceValidationArgs], list[str]], **options: Any
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args):
            report_violation(message, args.urn)

    return ResourceValidationPolicy(name, description, validate, **options)


def _production(args: ResourceValidationArgs) -> bool:
    stacks = args.get_config().get("productionStacks", DEFAULT_PRODUCTION_STACKS)
    return stack_of(args.urn) in stacks


def _budgets(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for message in budgets_allow_a_drain((r.resource_type, r.name, r.props) for r in args.resources):
        report_violation(message, None)


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    _resource_policy(
        "container-resources",
        "Every container has CPU and memory requests and a memory limit.",
        lambda a: container_resources(a.resource_type, a.name, a.props),
    ),
    _resource_policy(
        "production-hpa-min-replicas",
        "A production stack's HorizontalPodAutoscaler keeps at least 2 replicas.",
        lambda a: production_hpa_keeps_two(a.resource_type, a.name, a.props, _production(a)),
        config_schema=PolicyConfigSchema(
            {"productionStacks": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_PRODUCTION_STACKS}}
        ),
    ),
    StackValidationPolicy(
        "pdb-allows-drain",
        "A PodDisruptionBudget always lets a pod go at the autoscaler's minimum, so a drain never blocks.",
        _budgets,
    ),
    _resource_policy(
        "no-external-secrets-v1beta1",
        "External Secrets resources use external-secrets.io/v1.",
        lambda a: no_external_secrets_v1beta1(a.resource_type, a.name, a.props),
    ),
    _resource_policy(
        "secrets-customer-managed-key",
        "Secrets Manager secrets are encrypted with a customer-managed KMS key.",
        lambda a: secrets_use_a_customer_managed_key(a.resource_type, a.name, a.props),
    ),
    _resource_policy(
        "no-wildcard-resource",
        "No identity-policy statement allows a bare '*' resource, NotResource or no resource.",
        lambda a: broad_identity_grants(a.resource_type, a.name, a.props, "resource"),
    ),
    _resource_policy(
        "no-wildcard-action",
        "No identity-policy statement allows a '*' or 'service:*' action, or NotAction.",
        lambda a: broad_identity_grants(a.resource_type, a.name, a.props, "action"),
    ),
    _resource_policy(
        "alert-rules-have-runbooks",
        "Every Grafana alert rule carries a runbook_url annotation.",
        lambda a: alert_rules_have_runbooks(a.resource_type, a.name, a.props),
    ),
    _resource_policy(
        "explicit-provider",
        "Every resource goes through an explicit provider, never a default one.",
        lambda a: explicit_provider(a.resource_type, a.name, a.provider.urn if a.provider else None),
    ),
]
