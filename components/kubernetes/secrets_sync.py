"""The cluster side of the secrets: External Secrets' reader ServiceAccount, SecretStore and
ExternalSecret, registered as custom resources through the stack's explicit provider."""

from __future__ import annotations

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pulumi_kubernetes.core.v1 import ServiceAccount

from components.kubernetes import external_secrets
from settings.stack import StackSettings

# How long `up` waits for the first sync of a change. With every value present (the gate) External
# Secrets syncs within seconds of the change (it reconciles on a generation change whatever its
# refreshInterval: externalsecret_controller.go, shouldEnqueueExternalSecretUpdate); what remains
# is an access problem (role, key policy), which waiting does not cure. pulumi-kubernetes would wait
# 10 minutes and does not fail early on a failed condition (provider/pkg/await/await.go).
SYNC_TIMEOUT = "3m"


class SecretsSync(pulumi.ComponentResource):
    """Reader ServiceAccount (IRSA), SecretStore and ExternalSecret; ``external_secret`` is what
    the Deployment waits for."""

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        after: list | None = None,
        values_ready: pulumi.Output | None = None,
        opts: pulumi.ResourceOptions | None = None,
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
        # Not before every AWS secret holds a value: the gate raises, naming the empty ones.
        gate = [values_ready.apply(lambda _: store)] if values_ready is not None else []
        self.external_secret = self._custom(
            name,
            external_secrets.external_secret(settings),
            [*after, store, *gate],
            timeouts=pulumi.CustomTimeouts(create=SYNC_TIMEOUT, update=SYNC_TIMEOUT),
        )
        self.register_outputs({"targetSecret": settings.secrets.target_secret_name})

    def _custom(
        self, name: str, manifest: dict, depends_on: list, timeouts: pulumi.CustomTimeouts | None = None
    ) -> CustomResource:
        return CustomResource(
            name,
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata=manifest["metadata"],
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, custom_timeouts=timeouts),
        )
