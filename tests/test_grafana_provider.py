"""The Grafana provider: every input that says where and how it deploys comes from the settings,
never from the operator's shell; only the token may, and never in clear."""

from __future__ import annotations

import re
from pathlib import Path

import pulumiverse_grafana.provider
import pytest
from helpers import problems

from offline.harness import PROJECT, RunResult, Secret, StackRun, stack_config
from settings.environment import ambient_problems

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
    environ |= {"GRAFANA_STORE_DASHBOARD_SHA256": "true", "GRAFANA_ORG_ID": "7", "GRAFANA_HTTP_HEADERS": "{}"}
    environ |= {"GRAFANA_AUTH": "glsa_hunter2"}  # a credential: allowed
    return environ


def test_the_sdk_reads_the_variables_this_test_sets() -> None:
    placements = _placements()
    assert placements["url"] == "GRAFANA_URL"
    assert placements["insecureSkipVerify"] == "GRAFANA_INSECURE_SKIP_VERIFY"
    assert placements["caCert"] == "GRAFANA_CA_CERT"
    assert "auth" not in placements  # a credential: the shell may hold it


def test_the_provider_inputs_come_from_settings(result: RunResult, settings) -> None:
    inputs = result.one(PROVIDER).inputs
    grafana = settings.grafana
    assert inputs == {
        "url": grafana.url,
        "orgId": str(grafana.org_id),  # the SDK sends non-strings as JSON text
        "insecureSkipVerify": "false",
        "retries": str(grafana.retries),
        "retryWait": str(grafana.retry_wait_seconds),
        "storeDashboardSha256": "false",
    }
    # An empty endpoint would make the provider build that service's client and fail to start.
    assert "" not in inputs.values()


def test_every_variable_the_sdk_reads_is_a_credential_or_refused() -> None:
    placements = _placements()
    assert len(placements) >= 8
    refused = ambient_problems(dict.fromkeys(placements.values(), "x"))
    assert [line.split(" = ")[0].removeprefix("environment ") for line in refused] == sorted(placements.values())
    assert ambient_problems({"GRAFANA_AUTH": "x", "GRAFANA_TLS_KEY": "x", "GRAFANA_SM_ACCESS_TOKEN": "x"}) == []


def test_a_hostile_shell_stops_the_program_before_anything_registers(stack: str) -> None:
    config, secret_keys = stack_config(stack)
    lines = problems(StackRun(stack, config, secret_keys, environ=_hostile()))
    expected = sorted(name for name in _hostile() if name != "GRAFANA_AUTH")
    assert [line.split(" = ")[0].removeprefix("environment ") for line in lines] == expected
    assert lines[0] == (
        f"environment {expected[0]} = [set]: the Grafana provider would read it wherever the stack leaves an input "
        "unset (its own false, empty and 0 included); unset it, the stack's grafana settings decide (only "
        "credentials such as GRAFANA_AUTH may come from the shell)"
    )
    assert "attacker" not in "\n".join(lines)


def test_a_token_in_the_shell_is_the_one_thing_it_may_add(result: RunResult, stack: str) -> None:
    config, secret_keys = stack_config(stack)
    with_token = StackRun(stack, config, secret_keys, environ={"GRAFANA_AUTH": "glsa_hunter2"}).execute()
    inputs = with_token.one(PROVIDER).inputs
    assert isinstance(inputs.pop("auth"), Secret)  # the SDK takes GRAFANA_AUTH, kept secret
    assert inputs == result.one(PROVIDER).inputs
    assert "hunter2" not in repr([r.inputs for r in with_token.resources])


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
