"""Which input changes make the provider replace a resource instead of updating it, per type, as
the providers' schemas mark them (`ForceNew` in the AWS and Grafana providers, immutable fields
in Kubernetes): what `pulumi preview` shows as `+-`. A path names an input and everything under it."""

from __future__ import annotations

# Every Kubernetes object: a new name or namespace is a new object.
KUBERNETES = ("metadata.name", "metadata.namespace")
BY_TYPE: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:core/v1:Service": ("spec.clusterIP", "spec.clusterIPs", "spec.type"),
    "pulumi:providers:kubernetes": ("clusterIdentifier",),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:secretsmanager/secretRotation:SecretRotation": ("secretId",),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:lambda/function:Function": ("name",),
    "aws:lambda/permission:Permission": (
        "action",
        "function",
        "principal",
        "qualifier",
        "sourceAccount",
        "sourceArn",
        "statementId",
    ),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:sns/topicSubscription:TopicSubscription": ("endpoint", "protocol", "topic"),
    "aws:scheduler/schedule:Schedule": ("name", "namePrefix", "groupName"),
    "pulumi:providers:aws": ("region",),
    "grafana:oss/folder:Folder": ("uid", "orgId"),
    "grafana:oss/dashboard:Dashboard": ("orgId",),
    "grafana:alerting/ruleGroup:RuleGroup": ("folderUid", "name", "orgId"),
    "grafana:alerting/contactPoint:ContactPoint": ("name", "orgId", "disableProvenance"),
    "pulumi:providers:grafana": ("url", "orgId"),
}


def forces_replacement(type_token: str, path: str) -> bool:
    """Whether a change at ``path`` (dotted, list indexes as ``[n]``) replaces a ``type_token``."""
    fields = BY_TYPE.get(type_token, ())
    if type_token.startswith("kubernetes:"):
        fields = (*KUBERNETES, *fields)
    return any(path == field or path.startswith((f"{field}.", f"{field}[")) for field in fields)
