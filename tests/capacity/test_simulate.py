"""The HPA simulator (capacity/simulate.py): prod under a sudden five-fold load step by step, computed
by hand, and a day of syncs within every stack's bounds."""

from __future__ import annotations

from helpers import PROPOSAL_BEHAVIOR, valid_settings

from capacity import __main__ as cli
from capacity import profiles
from capacity.simulate import simulate, summarize

# What the hand-computed prod cases below assume (prod's sizing when they were worked out), pinned
# so that a routine edit of Pulumi.prod.yaml changes prod, not these cases' inputs.
PROD_AS_COMPUTED = {
    "backend.resources": {
        "requests": {"cpu": "200m", "memory": "256Mi", "ephemeralStorage": "256Mi"},
        "limits": {"cpu": "500m", "memory": "512Mi", "ephemeralStorage": "1Gi"},
    },
    "backend.autoscaling": {
        "minReplicas": 2,
        "maxReplicas": 10,
        "targetCpuUtilization": 70,
        "targetMemoryUtilization": 80,
        "behavior": PROPOSAL_BEHAVIOR,
    },
    "capacity": {},  # the load model's and start-up times' defaults
}


def test_prod_from_two_pods_under_a_sudden_five_fold_load_step_by_step() -> None:
    settings = valid_settings("prod", PROD_AS_COMPUTED)
    rows = simulate(settings, profiles.step(40, 5, at=60, until=1800), 240)
    assert [(r.seconds, r.ready, r.desired) for r in rows[:10]] == [
        # 40 req/s on 2 pods: 20 + 4 x 20 = 100m of 200m = 50 % (target 70: ceil(0.71 x 2) = 2).
        (0, 2, 2),
        (15, 2, 2),
        (30, 2, 2),
        (45, 2, 2),
        # 200 req/s: 420m = 210 %, ratio 3.0, ceil(3 x 2) = 6; the policies allow max(+100 %, +2) = 4.
        (60, 2, 4),
        # The 2 new pods have no metrics (image pull): counted at 0, 105 % -> 6 wanted, but the
        # period started at 2 replicas: still 4.
        (75, 2, 4),
        # Their period is over: from 4, max(8, 6) allows the 6 wanted (the starting pods' CPU unready: 0).
        (90, 2, 6),
        # 4 ready (the first two since 105 s), 2 still starting: the direction flips, no change.
        (105, 4, 6),
        (120, 4, 6),
        # All 6 ready: 200 / 6 req/s each: 153m = 76 %, ratio 1.09: within the tolerance.
        (135, 6, 6),
    ]


def test_without_behavior_prod_reaches_six_pods_a_sync_later() -> None:
    settings = valid_settings("prod", PROD_AS_COMPUTED)
    load = profiles.step(40, 5, at=60, until=1800)
    ours = summarize(settings, simulate(settings, load, 3600))
    defaults = summarize(settings, simulate(settings, load, 3600, kubernetes_defaults=True))
    # Both go 2 -> 4 -> 6: prod's second step waits for its 30 s period, the older path for a sync.
    assert (ours.seconds_to_capacity, defaults.seconds_to_capacity) == (75, 60)
    assert ours.peak_replicas == defaults.peak_replicas == 6


def test_a_day_of_syncs_stays_within_the_bounds(stack: str) -> None:
    # A week's speed is the benchmark's to measure (./tasks.sh bench), not a test's.
    settings = cli.load_settings(stack)
    rows = simulate(settings, profiles.diurnal(40, 5), 86400)
    assert len(rows) == 86400 // 15 + 1
    scaling = settings.backend.autoscaling
    assert all(scaling.min_replicas <= r.desired <= scaling.max_replicas for r in rows)
