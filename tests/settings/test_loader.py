"""The program reading its config (settings/loader.py): every problem together, one line each, as
one `pulumi.RunError` before anything registers; config from the CLI's environment; namespaces
nobody reads."""

from __future__ import annotations

import json

from helpers import problems, run_changed

from offline.harness import StackRun, stack_config, stack_document

NS = "reconciliation-platform"


def test_all_problems_are_reported_together() -> None:
    lines = problems(
        run_changed(
            "prod",
            {
                "backend.autoscaling.minReplicas": 1,
                "backend.resources.requests.cpu": "500x",
                "backend.replicas": 2,
                "kubernetes.context": "",
            },
        )
    )
    assert len(lines) == 5
    assert any(line.startswith(f"{NS}:backend.resources.requests.cpu") for line in lines)
    assert any(line.startswith(f"{NS}:backend.replicas") for line in lines)
    assert any(line.startswith(f"{NS}:kubernetes.context") for line in lines)
    # minReplicas 1 with minAvailable 1 blocks drains: found in the same pass as the field errors.
    assert any(line.startswith(f"{NS}:backend.disruptionBudget.minAvailable = 1") for line in lines)
    assert any(line.startswith(f"{NS}:backend.autoscaling.minReplicas = 1: production") for line in lines)


def test_a_misspelled_namespace_is_not_ignored() -> None:
    config, secret_keys = stack_config("prod")
    config["reconcilation-platform:production"] = "false"
    lines = problems(StackRun("prod", config, secret_keys))
    assert lines == [
        "reconcilation-platform:production = ...: unknown config namespace 'reconcilation-platform'; allowed: "
        f"{NS}, pulumi (provider settings such as kubernetes:context are not read: this project's providers are "
        f"explicit, configured from {NS}:kubernetes)"
    ]


def test_default_provider_settings_are_refused_not_ignored() -> None:
    config, secret_keys = stack_config("prod")
    config["kubernetes:context"] = "someone-elses-cluster"
    (line,) = problems(StackRun("prod", config, secret_keys))
    assert line.startswith("kubernetes:context = ...: unknown config namespace 'kubernetes'")


def test_config_arrives_through_the_cli_environment_too() -> None:
    # The Pulumi CLI hands config to the program in PULUMI_CONFIG, not through set_all_config.
    config, _ = stack_config("dev")
    config[f"{NS}:kubeconfig"] = "apiVersion: v1\nkind: Config\n"
    environ = {"PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps([f"{NS}:kubeconfig"])}
    result = StackRun("dev", {}, [], environ).execute()
    written = stack_document("dev")[f"{NS}:kubernetes"]["context"]
    assert result.one("pulumi:providers:kubernetes").inputs["context"] == written
    environ["PULUMI_CONFIG_SECRET_KEYS"] = "[]"
    assert problems(StackRun("dev", {}, [], environ)) == [
        f"{NS}:kubeconfig = [not a secret]: must be set with `pulumi config set --secret kubeconfig`"
    ]
