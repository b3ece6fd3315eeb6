"""The Grafana provider: every input that says where and how it deploys comes from the settings,
never from the operator's shell; only the token may, and never in clear."""

from __future__ import annotations

import re
from pathlib import Path

import pulumiverse_grafana.provider
import pytest

from offline.harness import PROJECT, RunResult, Secret, StackRun, stack_config

PROVIDER = "pulumi:providers:grafana"
# What a token or a client certificate is: credentials may come from the shell, nothing else.
CREDENTIALS = re.compile(r"AUTH|TOKEN|TLS_CERT|TLS_KEY")


def _sdk_environment_fallbacks() -> dict[str, str]:
    """{camelCase input: variable} for every Provider input the SDK fills from the environment,
    read from the installed SDK's source, so a fallback added by an upgrade is covered too."""
    source = Path(pulumiverse_grafana.provider.__file__).read_text()
    pairs = set(re.findall(r"if (\w+) is None:\s+\1 = _utilities\.get_env\w*\('(\w+)'", source))
    assert pairs, "the SDK's environment fallbacks were not found: has provider.py changed shape?"
    return {re.sub(r"_(\w)", lambda m: m[1].upper(), name): variable for name, variable in pairs}


def _placements() -> dict[str, str]:
    return {
        name: variable for name, variable in _sdk_environment_fallbacks().items() if not CREDENTIALS.search(variable)
    }


def _hostile() -> dict[str, str]:
    """Every non-credential variable the SDK reads, set to what would hurt, and a token."""
    environ = dict.fromkeys(_placements().values(), "https://grafana.attacker.example")
    environ |= {"GRAFANA_INSECURE_SKIP_VERIFY": "true", "GRAFANA_RETRIES": "0", "GRAFANA_RETRY_WAIT": "0"}
    environ |= {"GRAFANA_STORE_DASHBOARD_SHA256": "true", "GRAFANA_ORG_ID": "7", "GRAFANA_AUTH": "glsa_hunter2"}
    return environ


def test_the_sdk_reads_the_variables_this_test_sets() -> None:
    placements = _placements()
    assert placements["url"] == "GRAFANA_URL"
    assert placements["insecureSkipVerify"] == "GRAFANA_INSECURE_SKIP_VERIFY"
    assert placements["caCert"] == "GRAFANA_CA_CERT"
    assert "auth" not in placements  # a credential: the shell may hold it


def test_every_placement_input_is_set_from_settings(result: RunResult, settings) -> None:
    inputs = result.one(PROVIDER).inputs
    assert set(_placements()) <= set(inputs)
    grafana = settings.grafana
    assert inputs["url"] == grafana.url
    assert inputs["orgId"] == str(grafana.org_id)  # the SDK sends non-strings as JSON text
    assert inputs["insecureSkipVerify"] == "false"
    assert inputs["storeDashboardSha256"] == "false"
    assert inputs["retries"] == str(grafana.retries)
    assert inputs["caCert"] == inputs["smUrl"] == inputs["oncallUrl"] == inputs["cloudApiUrl"] == ""


def test_a_hostile_shell_changes_nothing_but_the_token(result: RunResult, stack: str) -> None:
    config, secret_keys = stack_config(stack)
    hostile = StackRun(stack, config, secret_keys, environ=_hostile()).execute()
    inputs = hostile.one(PROVIDER).inputs
    # The SDK takes GRAFANA_AUTH when the stack has no grafanaAuth secret: a credential, kept secret.
    assert isinstance(inputs.pop("auth"), Secret)
    assert inputs == result.one(PROVIDER).inputs
    text = repr([r.inputs for r in hostile.resources])
    assert "attacker" not in text
    assert "hunter2" not in text


def test_the_hostile_shell_really_changes_an_unpinned_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    # Proves the test above can fail: the same variables reach a provider left to its defaults.
    from pulumiverse_grafana import ProviderArgs

    for variable, value in _hostile().items():
        monkeypatch.setenv(variable, value)
    args = ProviderArgs()
    assert args.url == "https://grafana.attacker.example"
    assert args.insecure_skip_verify is True


def test_a_stack_token_reaches_the_provider_only_as_a_secret() -> None:
    config, secret_keys = stack_config("dev")
    config[f"{PROJECT}:grafanaAuth"] = "glsa_from_the_stack"
    result = StackRun("dev", config, [*secret_keys, f"{PROJECT}:grafanaAuth"]).execute()
    assert isinstance(result.one(PROVIDER).inputs["auth"], Secret)
    assert "glsa_from_the_stack" not in repr([r.inputs for r in result.resources])


def test_every_grafana_resource_goes_through_the_stack_provider(result: RunResult) -> None:
    provider = result.one(PROVIDER)
    children = [r for r in result.resources if r.type.startswith("grafana:")]
    assert len(children) >= 4
    assert all(child.provider.startswith(provider.urn + "::") for child in children)


def test_every_stack_file_disables_the_default_grafana_provider(stack: str) -> None:
    from offline.harness import stack_document

    disabled = stack_document(stack).get("pulumi:disable-default-providers", [])
    assert "grafana" in disabled or "*" in disabled
