"""The settings layer on its own: quantities, defaults, rules and the report, without Pulumi."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import changed, validated

from offline.harness import PROJECT, stack_document, stack_names
from settings.quantity import parse_quantity
from settings.report import allowed_keys
from settings.scaling import Autoscaling
from settings.stack import StackSettings
from settings.stackfile import project_values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250m", Decimal("0.25")),
        ("0.5", Decimal("0.5")),
        ("2", Decimal(2)),
        ("512Mi", Decimal(512 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("1G", Decimal(10**9)),
        ("1e3", Decimal(1000)),
        ("100k", Decimal(100_000)),
        (".5", Decimal("0.5")),
    ],
)
def test_parse_quantity(text: str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["500x", "-1Gi", "", "Mi", "1.2.3", "1 Gi", "1gi", "+1"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Kubernetes quantity"):
        parse_quantity(text)


def test_every_stack_file_is_valid(stack: str) -> None:
    settings, problems = validated(stack)
    assert problems == []
    assert isinstance(settings, StackSettings)
    assert settings.environment == stack


def test_stacks_never_share_a_cluster_namespace() -> None:
    # Two stack files pointing at one context and namespace would overwrite each other's objects.
    targets = [(s.kubernetes.context, s.kubernetes.namespace) for s in (validated(n)[0] for n in stack_names())]
    assert len(targets) == len(set(targets))


def test_defaults_are_the_proposal_behavior() -> None:
    scaling = Autoscaling.model_validate(
        {"minReplicas": 2, "maxReplicas": 10, "targetCpuUtilization": 70, "targetMemoryUtilization": 80}
    )
    behavior = scaling.behavior.model_dump(by_alias=True, mode="json")
    assert behavior["scaleDown"] == {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
    }
    assert behavior["scaleUp"] == {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 30},
            {"type": "Pods", "value": 2, "periodSeconds": 30},
        ],
    }


def test_settings_are_immutable(stack: str) -> None:
    settings, _ = validated(stack)
    with pytest.raises(ValueError, match="frozen"):
        settings.backend.autoscaling.min_replicas = 50


def test_snake_case_keys_are_not_accepted() -> None:
    _, problems = validated("dev", {"backend.autoscaling.min_replicas": 2})
    assert problems == [
        f"{PROJECT}:backend.autoscaling.min_replicas = 2: unknown key; allowed keys: behavior, maxReplicas, "
        "minReplicas, targetCpuUtilization, targetMemoryUtilization"
    ]


def test_a_dotted_top_level_key_hints_at_path() -> None:
    # `pulumi config set backend.port 8080` without --path stores one key named "backend.port".
    from settings.report import validate

    values = {key.removeprefix(f"{PROJECT}:"): v for key, v in changed("dev", {}).items() if key.startswith(PROJECT)}
    _, problems = validate({**values, "backend.port": "8080"}, set(), PROJECT, "dev")
    assert len(problems) == 1
    assert problems[0].startswith(f'{PROJECT}:backend.port = "8080": unknown key; allowed keys: aws, backend, ')
    assert problems[0].endswith("(nested keys are set with `pulumi config set --path`)")


def test_allowed_keys_walks_lists_and_optionals() -> None:
    assert allowed_keys(StackSettings, ("backend", "autoscaling", "behavior", "scaleUp", "policies", 0)) == [
        "periodSeconds",
        "type",
        "value",
    ]


def test_digest_pinned_image(stack: str) -> None:
    digest = "sha256:" + "ab" * 32
    settings, problems = validated(stack, {"backend.image.digest": digest, "backend.image.pullPolicy": "IfNotPresent"})
    assert problems == []
    tag = stack_document(stack)[f"{PROJECT}:backend"]["image"]["tag"]
    assert settings.backend.image.reference == f"{settings.backend.image.repository}:{tag}@{digest}"


def test_digest_only_image_gets_a_label_safe_version() -> None:
    digest = "sha256:" + "0f" * 32
    settings, _ = validated("dev", {"backend.image": {"repository": "ghcr.io/a/b", "digest": digest}})
    assert settings.backend.image.reference == f"ghcr.io/a/b@{digest}"
    assert settings.backend.image.version == "0f" * 6


def test_percentage_budgets_are_resolved_like_the_controller() -> None:
    two = {"backend.autoscaling.minReplicas": 2}  # the floor the percentages below are about
    _, problems = validated("prod", {**two, "backend.disruptionBudget": {"minAvailable": "50%"}})
    assert problems == []  # 50 % of 2 rounds up to 1: one pod may go
    _, problems = validated("prod", {**two, "backend.disruptionBudget": {"minAvailable": "60%"}})
    assert len(problems) == 1  # 60 % of 2 rounds up to 2: nothing may go
    assert problems[0].startswith(f'{PROJECT}:backend.disruptionBudget.minAvailable = "60%"')


def test_a_field_error_never_hides_a_rule_in_the_same_section() -> None:
    prod = validated("prod")[0].backend
    _, problems = validated(
        "prod",
        {
            "backend.resources.requests.cpu": "500x",
            # Twice the stack's memory limit, in bytes: above it.
            "backend.resources.requests.memory": str(2 * int(parse_quantity(prod.resources.limits.memory))),
            "backend.autoscaling.targetCpuUtilization": 0,
            "backend.autoscaling.minReplicas": prod.autoscaling.max_replicas + 1,  # above maxReplicas
        },
    )
    keys = sorted(line.split(" = ")[0].removeprefix(f"{PROJECT}:") for line in problems)
    assert keys == [
        "backend.autoscaling.minReplicas",
        "backend.autoscaling.targetCpuUtilization",
        "backend.resources.requests.cpu",
        "backend.resources.requests.memory",
    ]


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"backend.resources.requests.memory": "256m"}, "backend.resources.requests.memory"),
        ({"backend.resources.requests.cpu": "0.1m"}, "backend.resources.requests.cpu"),
        ({"backend.resources.requests.cpu": "0"}, "backend.resources.requests.cpu"),
        ({"backend.resources.limits.memory": "8Mi"}, "backend.resources.limits.memory"),
        ({"backend.name": "1backend"}, "backend.name"),
        ({"backend.name": "r" * 60}, "backend.name"),
        ({"backend.disruptionBudget": {"maxUnavailable": True}}, "backend.disruptionBudget.maxUnavailable"),
        ({"backend.disruptionBudget": {"maxUnavailable": "100%"}}, "backend.disruptionBudget.maxUnavailable"),
        ({"backend.disruptionBudget": {"minAvailable": 0}}, "backend.disruptionBudget.minAvailable"),
        ({"backend.topologySpread": []}, "backend.topologySpread"),
        ({"production": "DELETE"}, "production"),
        ({"environment": "staging"}, "environment"),
        ({"kubernetes.podSecurityVersion": "1.33"}, "kubernetes.podSecurityVersion"),
    ],
)
def test_values_the_api_server_or_a_reviewer_would_refuse(changes: dict, key: str) -> None:
    from helpers import DELETE

    changes = {k: (DELETE if v == "DELETE" else v) for k, v in changes.items()}
    _, problems = validated("prod", changes)
    assert [line.split(" = ")[0] for line in problems] == [f"{PROJECT}:{key}"], problems


def test_every_stack_file_disables_the_default_kubernetes_provider(stack: str) -> None:
    from offline.harness import stack_document

    disabled = stack_document(stack).get("pulumi:disable-default-providers", [])
    assert "kubernetes" in disabled or "*" in disabled


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"kubernetes.namespace": "reconciliation-dev\n"}, "kubernetes.namespace"),
        ({"backend.image.tag": "1.4.2\n"}, "backend.image.tag"),
        ({"backend.name": "backend\n"}, "backend.name"),
        ({"backend.env": {"A\n": "x"}}, "backend.env.A\n"),
        ({"backend.resources.requests.cpu": " 100m"}, "backend.resources.requests.cpu"),
        ({"backend.tmpSizeLimit": "64Mi "}, "backend.tmpSizeLimit"),
        ({"kubernetes.context": "   "}, "kubernetes.context"),
        ({"backend.autoscaling.maxReplicas": 2**31}, "backend.autoscaling.maxReplicas"),
        ({"backend.rollout.maxSurge": 2**40}, "backend.rollout.maxSurge"),
        ({"backend.autoscaling.minReplicas": True}, "backend.autoscaling.minReplicas"),
        ({"backend.resources.limits.cpu": "99e99"}, "backend.resources.limits.cpu"),
    ],
)
def test_values_that_would_reach_a_manifest_malformed(changes: dict, key: str) -> None:
    _, problems = validated("dev", changes)
    assert [line.split(" = ")[0] for line in problems] == [f"{PROJECT}:{key}"], problems


def test_numbers_where_text_is_expected_are_that_text() -> None:
    # `pulumi config set --path backend.image.tag 42` stores an integer.
    settings, problems = validated(
        "dev", {"backend.image.tag": 42, "backend.resources.limits.cpu": 1, "backend.env": {"WORKERS": 4}}
    )
    assert problems == []
    assert settings.backend.image.tag == "42"
    assert settings.backend.resources.limits.cpu == "1"
    assert settings.backend.env == {"WORKERS": "4"}


def test_a_percentage_budget_rounds_up_like_the_disruption_controller() -> None:
    # 1% of one replica rounds up to one pod: drainable, so valid.
    assert validated("dev", {"backend.disruptionBudget.maxUnavailable": "1%"})[1] == []


def test_an_invalid_list_item_is_reported_once() -> None:
    _, problems = validated("prod", {"backend.autoscaling.behavior.scaleDown.policies": [{"type": "Percent"}]})
    assert all("at least 1 item" not in line for line in problems)
    assert len(problems) == 2  # value and periodSeconds missing


@pytest.mark.parametrize(
    ("written", "expected"),
    [(0.2, "0.2"), (0.5, "0.5"), (1.5, "1.5"), (2, "2"), (0.25, "0.25"), (1.0, "1"), (2e0, "2")],
)
def test_a_cpu_written_as_a_number_is_that_quantity(written: float, expected: str) -> None:
    # Kubernetes accepts `cpu: 0.2`; so do the settings, as the exact text of the number.
    settings, problems = validated("dev", {"backend.resources.limits.cpu": written})
    assert problems == []
    assert settings.backend.resources.limits.cpu == expected


@pytest.mark.parametrize("written", [True, 0.0001, float("inf"), float("nan")])
def test_numbers_that_are_no_cpu_quantity_are_refused(written: float) -> None:
    _, problems = validated("dev", {"backend.resources.requests.cpu": written})
    assert [line.split(" = ")[0] for line in problems] == [f"{PROJECT}:backend.resources.requests.cpu"]


def test_a_tag_written_as_a_decimal_number_is_refused_not_rounded() -> None:
    # `tag: 1.40` is the number 1.4 in YAML: reading it as text would deploy another image.
    _, problems = validated("dev", {"backend.image.tag": 1.4})
    assert problems == [f"{PROJECT}:backend.image.tag = 1.4: expected a string"]


def test_pod_security_follows_the_cluster_version_unless_pinned() -> None:
    settings, _ = validated("dev", {"kubernetes.version": "1.31"})
    assert settings.kubernetes.pod_security == "v1.31"
    settings, _ = validated("dev", {"kubernetes.podSecurityVersion": "v1.30"})
    assert settings.kubernetes.pod_security == "v1.30"


def test_rules_read_the_same_values_with_or_without_the_validated_model() -> None:
    # The engine reads pieces from the validated settings when there are any: both ways agree.
    from settings.engine import _attribute, _piece, at
    from settings.rules import RULES

    values, _ = project_values(changed("prod", {}), PROJECT)
    settings, _ = validated("prod")
    for paths, _check in RULES:
        for path in paths:
            if path != "@stack":
                assert _attribute(settings, at(path)) == _piece(values, at(path)), path


def test_a_whole_number_is_written_as_the_cli_hands_it_over() -> None:
    # The Pulumi CLI passes object config through Go's JSON encoder: `memory: 5.36870912e8` and
    # `1.0` reach the program as 536870912 and 1, so the render must say the same.
    settings, problems = validated("dev", {"backend.resources.limits.memory": 5.36870912e8})
    assert problems == []
    assert settings.backend.resources.limits.memory == "536870912"


def test_every_module_of_the_rules_package_is_listed_and_every_rule_registered() -> None:
    """Rules are registered by ``settings.rules.MODULES``, explicitly: a module missing from that
    list, or a rule whose module is not in it, would never run, so it fails here."""
    import importlib
    import pkgutil

    import settings.rules as package
    from settings.rules import MODULES, RULES

    found = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert {module.__name__.rsplit(".", 1)[1] for module in MODULES} == found
    # Every function of the package that carries the mark: the module's own and those it made.
    marked = set()
    for name in sorted(found):
        for value in vars(importlib.import_module(f"settings.rules.{name}")).values():
            marked |= {
                check for check in (value if isinstance(value, list) else [value]) if hasattr(check, "rule_paths")
            }
    assert {check for _, check in RULES} == marked
    assert len(RULES) == len(marked) > 30
