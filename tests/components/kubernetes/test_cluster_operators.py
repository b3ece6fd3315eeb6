"""The operators the cluster must run are read before anything changes (components/kubernetes/cluster_operators.py).

pulumi-kubernetes previews a custom resource whose kind or version is not served by echoing its
inputs (provider/pkg/provider/provider.go, `skipPreview ... !k.gvkExists`), so only a read of the
CustomResourceDefinitions, which runs during previews (pulumi pkg/resource/deploy/step.go,
ReadStep), shows a missing operator before `up`. The definitions the render answers with are the
operators' own (offline/crds.yaml, trimmed from external-secrets v2.9.0 and prometheus-operator
v0.93.0)."""

from __future__ import annotations

import copy

import pytest

from components.kubernetes import cluster_operators
from offline.harness import CRD_TYPE, RunResult, StackRun, cluster_crds
from settings.stack import StackSettings

ESO = ("externalsecrets.external-secrets.io", "secretstores.external-secrets.io")
PODMONITORS = "podmonitors.monitoring.coreos.com"


def _read(result: RunResult) -> list[str]:
    provider = result.one("pulumi:providers:aws")
    return sorted(urn.rsplit("::", 1)[1].removeprefix("operators-") for urn in provider.depends_on if CRD_TYPE in urn)


def test_the_aws_side_waits_for_every_definition_the_stack_needs(result: RunResult, settings: StackSettings) -> None:
    expected = [*ESO, *([PODMONITORS] if settings.backend.metrics.pod_monitor.enabled else [])]
    assert _read(result) == sorted(expected)


def test_external_secrets_without_v1_stops_before_any_aws_resource(stack: str) -> None:
    """External Secrets before 0.16.2 serves v1beta1 only: the ExternalSecret would be skipped in the
    preview and fail in `up`, after the AWS side changed."""
    crds = cluster_crds()
    crds[ESO[0]] = copy.deepcopy(crds[ESO[0]])
    crds[ESO[0]]["spec"]["versions"] = [{"name": "v1beta1", "served": True, "storage": True}]
    run = StackRun(stack, crds=crds)
    with pytest.raises(Exception, match="lacks what the stack's objects need") as caught:
        run.execute()
    assert str(caught.value).splitlines()[1:] == [
        f"  - {ESO[0]} serves v1beta1, not v1: install or upgrade {cluster_operators.EXTERNAL_SECRETS}"
    ]
    assert [r.type for r in run.registrations if r.type.startswith("aws:")] == []
    assert [r.type for r in run.registrations if r.type.startswith("kubernetes:external-secrets.io")] == []


def test_a_missing_definition_fails_the_read_only_where_the_stack_uses_it(stack: str, settings: StackSettings) -> None:
    crds = cluster_crds()
    del crds[PODMONITORS]
    run = StackRun(stack, crds=crds)
    if settings.backend.metrics.pod_monitor.enabled:
        with pytest.raises(Exception, match=f"resource '{PODMONITORS}' does not exist"):
            run.execute()
        assert [r.type for r in run.registrations if r.type.startswith("aws:")] == []
    else:
        assert run.execute().one("pulumi:providers:aws")


def test_problems_reads_the_served_flag_not_just_the_listing() -> None:
    requirement = cluster_operators.Requirement("x.example.com", "v1", "the operator")
    served = {"versions": [{"name": "v1", "served": True}, {"name": "v1beta1", "served": False}]}
    listed = {"versions": [{"name": "v1", "served": False}, {"name": "v1beta1", "served": True}]}
    assert cluster_operators.problems([requirement], [served]) == []
    assert cluster_operators.problems([requirement], [listed]) == [
        "x.example.com serves v1beta1, not v1: install or upgrade the operator"
    ]
    assert cluster_operators.problems([requirement], [{}]) == [
        "x.example.com serves no version, not v1: install or upgrade the operator"
    ]
