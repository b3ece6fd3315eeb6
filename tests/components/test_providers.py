"""The program's providers together (components/kubernetes|aws|grafana/provider.py): every stack file
disables the default providers, so only these explicit ones deploy; and the shell their SDKs read
does change a provider left to its defaults, which proves each provider's hostile-shell test (in
its own file) can fail."""

from __future__ import annotations

import pytest
from helpers import hostile_shell

from offline.harness import stack_document

# What a provider left to its defaults takes from the hostile shell, as the SDK's ProviderArgs read it.
UNPINNED = {
    "kubernetes": {
        "kubeconfig": "/home/alice/.kube/config",
        "delete_unreachable": True,
        "enable_server_side_apply": False,
    },
    "grafana": {"url": "https://grafana.attacker.example", "insecure_skip_verify": True},
}


@pytest.mark.parametrize("provider", ["aws", "kubernetes", "grafana"])
def test_every_stack_file_disables_the_default_provider(stack: str, provider: str) -> None:
    disabled = stack_document(stack).get("pulumi:disable-default-providers", [])
    assert provider in disabled or "*" in disabled


@pytest.mark.parametrize("provider", sorted(UNPINNED))
def test_the_hostile_shell_really_changes_an_unpinned_provider(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Proves the providers' hostile-shell tests can fail: the same variables do reach a provider
    # left to its defaults.
    from pulumi_kubernetes.provider import ProviderArgs as KubernetesArgs
    from pulumiverse_grafana import ProviderArgs as GrafanaArgs

    for variable, value in hostile_shell(provider).items():
        monkeypatch.setenv(variable, value)
    args = {"kubernetes": KubernetesArgs, "grafana": GrafanaArgs}[provider]()
    assert {name: getattr(args, name) for name in UNPINNED[provider]} == UNPINNED[provider]
