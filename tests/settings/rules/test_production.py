"""Production guardrails (settings/rules/production.py), through the real program: each variant that
would break a promise of the documentation stops `pulumi preview` with one exact line, nothing
registered; what keeps the promises is accepted, and other stacks are not held to them."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import HOST, PROPOSAL_SCALE, SPREAD, ZONE, problems, refused, run_changed

NS = "reconciliation-platform"

# (stack, changes, the exact line expected among the problems)
RULES: dict[str, tuple[str, dict[str, Any], str]] = {
    "latest in production": (
        "prod",
        {"backend.image.tag": "latest"},
        f'{NS}:backend.image.tag = "latest": production stacks refuse the tag latest; pin a release tag (a digest '
        "alone is fine)",
    ),
    "production with one replica": (
        "prod",
        {"backend.autoscaling.minReplicas": 1, "backend.disruptionBudget": {"maxUnavailable": 1}},
        f"{NS}:backend.autoscaling.minReplicas = 1: production stacks need at least 2 replicas to survive a "
        "node drain or a crash",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_rule_stops_the_program_with_one_clear_line(rule: str) -> None:
    stack, changes, expected = RULES[rule]
    assert expected in problems(run_changed(stack, changes))


def test_latest_is_allowed_outside_production() -> None:
    run = run_changed("dev", {"backend.image.tag": "latest"})
    deployment = run.execute().one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":latest")


# (stack, changes, every line expected: nothing more, nothing less)
REFUSED: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "a release kills every pod": (
        "prod",
        {"backend.rollout": {"maxSurge": 0, "maxUnavailable": "100%"}, **PROPOSAL_SCALE},
        [
            f'{NS}:backend.rollout.maxUnavailable = "100%": at 2 replicas a release could take 2 pods down; '
            "production releases take down at most 25% of the pods or one (1 here) and keep what the disruption "
            "budget keeps (1)"
        ],
    ),
    "a release takes 9 of 10 pods: the budget alone would allow it": (
        "prod",
        {"backend.rollout": {"maxSurge": 0, "maxUnavailable": "90%"}, **PROPOSAL_SCALE},
        [
            f'{NS}:backend.rollout.maxUnavailable = "90%": at 3 replicas a release could take 2 pods down; '
            "production releases take down at most 25% of the pods or one (1 here) and keep what the disruption "
            "budget keeps (1)"
        ],
    ),
    "a release breaks a percentage budget only at a larger count": (
        # Fine at 5 to 7 replicas; at 8 a release takes 2 down and the budget, rounded up as the
        # disruption controller does, keeps 7 (rounded down it would keep 6 and pass).
        "prod",
        {
            "backend.rollout": {"maxSurge": 0, "maxUnavailable": "25%"},
            "backend.disruptionBudget": {"minAvailable": "80%"},
            "backend.autoscaling.minReplicas": 5,
        },
        [
            f'{NS}:backend.rollout.maxUnavailable = "25%": at 8 replicas a release could take 2 pods down; production '
            "releases take down at most 25% of the pods or one (2 here) and keep what the disruption budget keeps (7)"
        ],
    ),
    "no graceful stop": (
        "prod",
        {"backend.termination": {"gracePeriodSeconds": 1, "preStopSleepSeconds": 0}},
        [
            f"{NS}:backend.termination.preStopSleepSeconds = 0: production pods sleep at least 5 s before SIGTERM, so "
            "endpoints and load balancers stop sending them traffic first",
            f"{NS}:backend.termination.gracePeriodSeconds = 1: production pods get at least 10 s after the preStop "
            "sleep (0 s) to finish in-flight requests: at least 10",
        ],
    ),
    "a loose host spread": (
        "prod",
        {SPREAD: [{"topologyKey": ZONE}, {"topologyKey": HOST, "whenUnsatisfiable": "DoNotSchedule", "maxSkew": 10}]},
        [
            f"{NS}:backend.topologySpread[1].maxSkew = 10: production spreads over kubernetes.io/hostname need "
            "maxSkew: 1 (docs/design-decisions.md#spreading)"
        ],
    ),
    "hard and soft swapped": (
        "prod",
        {SPREAD: [{"topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}, {"topologyKey": HOST}]},
        [
            f'{NS}:backend.topologySpread[0].whenUnsatisfiable = "DoNotSchedule": production spreads over '
            "topology.kubernetes.io/zone need whenUnsatisfiable: ScheduleAnyway (docs/design-decisions.md#spreading)",
            f'{NS}:backend.topologySpread[1].whenUnsatisfiable = "ScheduleAnyway": production spreads over '
            "kubernetes.io/hostname need whenUnsatisfiable: DoNotSchedule (docs/design-decisions.md#spreading)",
        ],
    ),
    "scale-up disabled": (
        "prod",
        {"backend.autoscaling.behavior.scaleUp.selectPolicy": "Disabled"},
        [
            f'{NS}:backend.autoscaling.behavior.scaleUp.selectPolicy = "Disabled": production stacks must be able to '
            "scale up under load: Max or Min"
        ],
    ),
    "a provider that drops or adopts on its own": (
        "prod",
        {"kubernetes.provider": {"deleteUnreachable": True, "upsertExistingObjects": True}},
        [
            f"{NS}:kubernetes.provider.deleteUnreachable = true: production stacks need false: an unreachable cluster "
            "would silently drop every resource from state",
            f"{NS}:kubernetes.provider.upsertExistingObjects = true: production stacks need false: it silently adopts "
            "live objects; adopt them with an import instead",
        ],
    ),
    "client-side apply in production": (
        "prod",
        {"kubernetes.provider": {"enableServerSideApply": False}},
        [
            f"{NS}:kubernetes.provider.enableServerSideApply = false: production stacks need true: server-side apply "
            "tracks field ownership, so no other manager's change is lost"
        ],
    ),
    "a typo beside a refused switch hides nothing": (
        "prod",
        {"kubernetes.provider": {"deleteUnreachable": True, "enableSecretMutable": "sometimes"}},
        [
            f'{NS}:kubernetes.provider.enableSecretMutable = "sometimes": expected true or false',
            f"{NS}:kubernetes.provider.deleteUnreachable = true: production stacks need false: an unreachable cluster "
            "would silently drop every resource from state",
        ],
    ),
    "a production cluster without a fixed identifier": (
        "prod",
        {"kubernetes.clusterIdentifier": "DELETE"},
        [
            f"{NS}:kubernetes.clusterIdentifier = (not set): production stacks set the cluster's name or ARN: "
            "changing it later replaces the provider and every resource with it, so it must be right from the first "
            "`pulumi up`"
        ],
    ),
    "a production autoscaler that cannot scale": (
        "prod",
        {"backend.autoscaling.minReplicas": 2, "backend.autoscaling.maxReplicas": 2},
        [
            f"{NS}:backend.autoscaling.maxReplicas = 2: production stacks must be able to scale up under load: above "
            "minReplicas (2)"
        ],
    ),
    "one cause, one line: the preStop sleep eats the grace period": (
        "prod",
        {"backend.termination": {"gracePeriodSeconds": 5, "preStopSleepSeconds": 5}},
        [
            f"{NS}:backend.termination.preStopSleepSeconds = 5: must be less than gracePeriodSeconds (5), or the app "
            "gets no time to shut down"
        ],
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_exactly_these_lines(case: str) -> None:
    stack, changes, expected = REFUSED[case]
    assert refused(stack, changes) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"backend.rollout": {"maxSurge": 0, "maxUnavailable": 1}},  # one down of two keeps the budget's one
        # A quarter of each count, rounded down as the controller does (up, 5 replicas would lose 2).
        {"backend.rollout": {"maxSurge": 0, "maxUnavailable": "25%"}},
        # Rounded up as the disruption controller does, 50% of 3 keeps 2; a release of 1 keeps 2.
        {"backend.rollout": {"maxSurge": 0, "maxUnavailable": 1}, "backend.disruptionBudget": {"minAvailable": "50%"}},
        {"backend.termination": {"gracePeriodSeconds": 15, "preStopSleepSeconds": 5}},
    ],
)
def test_production_accepts_what_keeps_its_promises(changes: dict) -> None:
    assert run_changed("prod", changes).execute().one("kubernetes:apps/v1:Deployment")


def test_guardrails_are_production_only() -> None:
    # The same release and stop settings are a valid (if unwise) dev stack.
    changes = {
        "backend.rollout": {"maxSurge": 0, "maxUnavailable": "100%"},
        "backend.termination": {"gracePeriodSeconds": 1, "preStopSleepSeconds": 0},
        "backend.autoscaling.behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Disabled",
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
            }
        },
    }
    spec = run_changed("dev", changes).execute().one("kubernetes:apps/v1:Deployment").inputs["spec"]
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": "100%"}
