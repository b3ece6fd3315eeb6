"""The Grafana provider: every input that says where and how it deploys comes from the settings,
never from the operator's shell; only the token may, and never in clear."""

from __future__ import annotations

from helpers import grafana_placements, hostile_shell, problems

from offline.harness import PROJECT, RunResult, Secret, StackRun, stack_config

PROVIDER = "pulumi:providers:grafana"


def test_the_sdk_reads_the_variables_this_test_sets() -> None:
    placements = grafana_placements()
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


def test_a_hostile_shell_stops_the_program_before_anything_registers(stack: str) -> None:
    config, secret_keys = stack_config(stack)
    lines = problems(StackRun(stack, config, secret_keys, environ=hostile_shell("grafana")))
    expected = sorted(name for name in hostile_shell("grafana") if name != "GRAFANA_AUTH")
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
