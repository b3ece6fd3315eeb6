"""The cluster side of the secrets: External Secrets' reader ServiceAccount, SecretStore and
ExternalSecret, registered as custom resources through the stack's explicit provider."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import ServiceAccount

from components import external_secrets
from settings.stack import StackSettings


class SecretsSync(pulumi.ComponentResource):
    """Reader ServiceAccount (IRSA), SecretStore and ExternalSecret; ``external_secret`` is what
    the Deployment waits for."""

    def __init__(
        self, name: str, settings: StackSettings, after: list | None = None, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("reconciliation:secrets:SecretsSync", name, None, opts)
        after = after or []  # the Namespace, when the stack creates it
        child = pulumi.ResourceOptions(parent=self, depends_on=after or None)
        spec = external_secrets.reader_service_account(settings)
        reader = ServiceAccount(
            f"{name}-reader",
            metadata=spec["metadata"],
            automount_service_account_token=spec["automountServiceAccountToken"],
            opts=child,
        )
        store = self._custom(name, external_secrets.secret_store(settings), [*after, reader])
        self.external_secret = self._custom(name, external_secrets.external_secret(settings), [*after, store])
        previous = external_secrets.previous_external_secret(settings)
        if previous is not None:
            # Not waited for: it is not Ready until the first rotation has made a previous version.
            self._custom(f"{name}-previous", previous, [*after, store])
        self.register_outputs({"targetSecret": settings.secrets.target_secret_name})

    def _custom(self, name: str, manifest: dict, depends_on: list) -> CustomResource:
        return CustomResource(
            name,
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
