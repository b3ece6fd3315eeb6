"""Reconciliation platform backend: load the stack's settings, build the components, export."""

import pulumi

from components.aws.provider import aws_provider
from components.aws.secrets_inventory import SecretsInventory
from components.grafana.observability import Observability
from components.grafana.provider import grafana_provider
from components.kubernetes.backend_service import BackendService
from components.kubernetes.cluster_operators import ClusterOperators
from components.kubernetes.provider import kubernetes_provider
from settings.loader import load_settings

settings = load_settings()
cluster = kubernetes_provider(settings)
# Read from the cluster first: without its operators, nothing in AWS changes either.
operators = ClusterOperators("operators", settings, opts=pulumi.ResourceOptions(provider=cluster))
aws = aws_provider(settings, after=[operators.ready])
secrets = SecretsInventory("secrets", settings, opts=pulumi.ResourceOptions(provider=aws))
backend = BackendService(
    "backend",
    settings,
    secrets,
    opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
)

observability = Observability(
    "observability", settings, opts=pulumi.ResourceOptions(provider=grafana_provider(settings))
)

pulumi.export("environment", settings.environment)
pulumi.export("kubeContext", settings.kubernetes.context)
pulumi.export("namespace", backend.namespace)
pulumi.export("deploymentName", backend.deployment_name)
pulumi.export("image", settings.backend.image.reference)
pulumi.export("serviceUrl", backend.service_url)
pulumi.export("secretsKeyArn", secrets.key.arn)
pulumi.export("secretsReaderRoleArn", secrets.reader_role_arn)
pulumi.export("dashboardUrl", observability.dashboard_url)
