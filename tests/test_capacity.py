"""The HPA simulator against cases computed by hand from the controller's algorithm, and its CLI's
files for every stack."""

from __future__ import annotations

import csv
import difflib
import shutil
from pathlib import Path

import pytest
from helpers import PROPOSAL_BEHAVIOR, validated

from capacity import __main__ as cli
from capacity import profiles, rightsize
from capacity.controller import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    Controller,
    PodSample,
    Policy,
    Rules,
    Spec,
)
from capacity.recorded import Usage, percentile
from capacity.simulate import simulate, summarize
from settings.quantity import parse_quantity

REQUEST = {"cpu": 100, "memory": 100}
NEVER = Rules(0, "Disabled", (Policy("Pods", 1, 15),))
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


def _pinned(stack: str, changes: dict):
    settings, problems = validated(stack, changes)
    assert problems == []
    return settings


def _pods(*usages: int | None, ready: bool = True, age: float = 3600) -> list[PodSample]:
    """Pods at the given CPU usage (millicores of a 100m request; None: no metrics yet)."""
    return [
        PodSample(
            None if u is None else {"cpu": u, "memory": 50}, REQUEST, False, ready, age, age if ready else 0, ready
        )
        for u in usages
    ]


def _controller(up: Rules = DEFAULT_SCALE_UP, down: Rules = DEFAULT_SCALE_DOWN, low: int = 1, high: int = 20):
    return Controller(Spec(low, high, {"cpu": 50}, up, down))


def test_prod_from_two_pods_under_a_sudden_five_fold_load_step_by_step() -> None:
    settings = _pinned("prod", PROD_AS_COMPUTED)
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


def test_pods_policies_limit_each_period_from_its_start() -> None:
    controller = _controller(up=Rules(0, "Max", (Policy("Pods", 1, 60),)))
    assert controller.sync(0, 2, _pods(200, 200)) == 3  # ratio 4 wants 8: one pod per minute
    assert controller.sync(15, 3, _pods(200, 200, 200)) == 3  # the minute began at 2
    assert controller.sync(60, 3, _pods(200, 200, 200)) == 4  # the event at 0 s is out of the period


def test_percent_policies_round_up_and_down_as_the_controller_does() -> None:
    up = _controller(up=Rules(0, "Max", (Policy("Percent", 50, 60),)))
    assert up.sync(0, 3, _pods(200, 200, 200)) == 5  # ceil(3 x 1.5)
    down = _controller(down=Rules(0, "Max", (Policy("Percent", 50, 60),)))
    assert down.sync(0, 5, _pods(5, 5, 5, 5, 5)) == 2  # int(5 x 0.5), above the 1 wanted


@pytest.mark.parametrize(("select", "expected"), [("Max", 6), ("Min", 4), ("Disabled", 2)])
def test_select_policy(select: str, expected: int) -> None:
    controller = _controller(up=Rules(0, select, (Policy("Pods", 4, 15), Policy("Percent", 100, 15))))
    assert controller.sync(0, 2, _pods(500, 500)) == expected  # wants 20: +4 is 6, +100 % is 4


def test_the_scale_down_window_keeps_the_highest_recommendation() -> None:
    controller = _controller(down=Rules(60, "Max", (Policy("Percent", 100, 15),)))
    assert controller.sync(0, 4, _pods(50, 50, 50, 50)) == 4  # at target
    assert controller.sync(15, 4, _pods(10, 10, 10, 10)) == 4  # wants 1; 4 was recommended at 0 s
    assert controller.sync(45, 4, _pods(10, 10, 10, 10)) == 4
    assert controller.sync(75, 4, _pods(10, 10, 10, 10)) == 1  # the 0 s recommendation left the window


def test_the_scale_up_window_keeps_the_lowest_recommendation() -> None:
    controller = _controller(up=Rules(60, "Max", (Policy("Percent", 100, 15),)))
    assert controller.sync(0, 2, _pods(50, 50)) == 2
    assert controller.sync(15, 2, _pods(100, 100)) == 2  # wants 4; 2 was recommended at 0 s
    assert controller.sync(75, 2, _pods(100, 100)) == 4


def test_kubernetes_default_behavior() -> None:
    controller = _controller(high=50)
    assert controller.sync(0, 2, _pods(500, 500)) == 6  # max(+100 % = 4, +4 pods = 6)
    assert controller.sync(15, 6, _pods(*[500] * 6)) == 12  # a new 15 s period: max(12, 10)
    down = _controller()
    down.sync(0, 10, _pods(*[50] * 10))
    assert down.sync(15, 10, _pods(*[5] * 10)) == 10  # the 300 s window holds the count
    assert down.sync(315, 10, _pods(*[5] * 10)) == 1  # then 100 % per 15 s allows all of it


def test_min_and_max_replicas_bound_every_decision() -> None:
    assert _controller(high=5).sync(0, 2, _pods(500, 500)) == 5
    no_window = Rules(0, "Max", (Policy("Percent", 100, 15),))
    assert _controller(low=3, down=no_window).sync(0, 4, _pods(1, 1, 1, 1)) == 3  # wants 1
    assert _controller(high=5).sync(0, 7, []) == 5  # above max: corrected without metrics


def test_missing_and_unready_pods_count_as_the_controller_counts_them() -> None:
    controller = _controller(up=NEVER, down=NEVER)
    # Scale-up: 2 pods at 150 % (ratio 3 against 50 %), 2 without metrics count as 0: 75 % -> 6.
    assert controller.replicas_for("cpu", 4, _pods(150, 150, None, None)) == 6
    # Scale-down: 2 pods at 10 % and 2 missing counted at 100 %: 55 %, within the tolerance.
    assert controller.replicas_for("cpu", 4, _pods(10, 10, None, None)) == 4
    # A starting pod's CPU is not a sample: it counts 0 on a scale-up.
    starting = _pods(30, ready=False, age=20)
    # 2 x 150m over 3 x 100m = 100 %, ratio 2: ceil(2 x 3) = 6.
    assert controller.replicas_for("cpu", 3, [*_pods(150, 150), *starting]) == 6
    # Within the tolerance nothing moves: 52 % against 50 %.
    assert controller.replicas_for("cpu", 2, _pods(52, 52)) == 2


def test_an_hpa_without_behavior_takes_the_controllers_older_path() -> None:
    legacy = Controller(Spec(1, 20, {"cpu": 50}, DEFAULT_SCALE_UP, DEFAULT_SCALE_DOWN, without_behavior=True))
    assert legacy.sync(0, 2, _pods(500, 500)) == 4  # max(2 x 2, 4), not the +4 pods of `behavior: {}`
    assert legacy.sync(15, 4, _pods(*[500] * 4)) == 8  # each sync again: max(2 x 4, 4)


def test_without_behavior_prod_reaches_six_pods_a_sync_later() -> None:
    settings = _pinned("prod", PROD_AS_COMPUTED)
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


def test_the_cli_writes_series_plot_and_summary_for_every_stack(stack: str, tmp_path: Path) -> None:
    assert cli.main(["simulate", stack, "--out", str(tmp_path), "--duration", "1800"]) == 0
    with (tmp_path / "step.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["seconds", "load", "ready", "desired", "cpu_utilization", "memory_utilization"]
    assert len(rows) == 1800 // 15 + 2
    assert (tmp_path / "step.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "step.md").read_text()
    assert summary.startswith(f"### {stack}: step\n")
    assert "| peak replicas |" in summary


def test_a_recorded_profile_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "recorded.csv"
    recorded.write_text("# seconds,load\n0,40\n600,120\n1200,40\n")
    load, seconds = profiles.from_csv(recorded)
    assert [load(t) for t in (0, 599, 600, 1500)] == [40, 40, 120, 40]
    assert seconds == 1200 + profiles.SETTLE  # its last row, then time to watch the scale-down
    assert cli.main(["simulate", "dev", "--csv", str(recorded), "--out", str(tmp_path), "--no-plot"]) == 0
    assert (tmp_path / "recorded.md").is_file()
    (tmp_path / "empty.csv").write_text("")
    assert cli.main(["simulate", "dev", "--csv", str(tmp_path / "empty.csv")]) == 2
    assert cli.main(["simulate", "staging"]) == 2
    assert "no Pulumi.staging.yaml in" in capsys.readouterr().err


def _sized(low: int, high: int, cpu: str, memory: str) -> dict:
    """A pod's requests (storage as memory), the replica range, and the default prices, pinned."""
    return {
        "backend.resources": {
            "requests": {"cpu": cpu, "memory": memory, "ephemeralStorage": memory},
            "limits": {"cpu": "1", "memory": "1Gi", "ephemeralStorage": "1Gi"},
        },
        "backend.autoscaling.minReplicas": low,
        "backend.autoscaling.maxReplicas": high,
        "capacity.prices": {"cpuCoreHour": 0.04048, "memoryGibHour": 0.004445, "ephemeralStorageGibHour": 0.000111},
    }


@pytest.mark.parametrize(
    ("stack_name", "sizing", "low", "high"),
    [
        # 1-3 x (100m, 128Mi, 128Mi): 0.1 x 0.04048 + 0.125 x 0.004445 + 0.125 x 0.000111 per hour.
        (
            "dev",
            _sized(1, 3, "100m", "128Mi"),
            {"replicas": 1, "cpuCores": 0.1, "memoryGib": 0.125, "monthlyUsd": 3.37},
            10.11,
        ),
        # 2-10 x (200m, 256Mi, 256Mi): $0.0092350 per pod-hour, 730 hours a month.
        (
            "prod",
            _sized(2, 10, "200m", "256Mi"),
            {"replicas": 2, "cpuCores": 0.4, "memoryGib": 0.5, "monthlyUsd": 13.48},
            67.42,
        ),
    ],
)
def test_reserved_capacity_and_cost_from_the_settings_alone(
    stack_name: str, sizing: dict, low: dict, high: float
) -> None:
    from capacity.cost import reservation

    reserved = reservation(_pinned(stack_name, sizing))
    assert {key: reserved["min"][key] for key in low} == low
    assert reserved["max"]["monthlyUsd"] == high


@pytest.mark.parametrize("usage", [10, 48, 55, 150, 500])
def test_the_steady_state_shortcut_agrees_with_the_full_calculation(usage: int) -> None:
    # One shared sample for every settled pod (simulate's shortcut) against distinct equal samples.
    shared = _pods(usage)[0]
    for current in (1, 3, 7):
        fast = _controller().replicas_for("cpu", current, [shared] * current)
        full = _controller().replicas_for("cpu", current, _pods(*[usage] * current))
        assert fast == full


def _usage(cpu_cores: list[float], memory_bytes: list[float], pods: int = 2) -> Usage:
    """`pods` pods that each used these amounts, one sample every 15 s."""
    names = [f"backend-5d8f7c9b4-{i}" for i in range(pods)]
    return Usage(
        [15.0 * i for i in range(len(cpu_cores))],
        [dict.fromkeys(names, c) for c in cpu_cores],
        [dict.fromkeys(names, m) for m in memory_bytes],
    )


def _rules(cpu_target: int, memory_target: int, min_samples: int = 480) -> dict:
    # Explicit inputs of the hand computations (prod's other settings do not enter the formula).
    return {
        "backend.autoscaling.targetCpuUtilization": cpu_target,
        "backend.autoscaling.targetMemoryUtilization": memory_target,
        "capacity.rightsizing": {"cpuPercentile": 0.95, "memoryHeadroom": 0.15, "minSamples": min_samples},
    }


def _recommended(cpu_target: int, memory_target: int, usage: Usage, min_samples: int = 480) -> tuple[str, str]:
    cpu, memory = rightsize.recommend(_pinned("prod", _rules(cpu_target, memory_target, min_samples)), usage)
    return cpu.recommended, memory.recommended


MIB = 1024 * 1024


def test_rightsizing_divides_by_the_targets() -> None:
    # 2 pods x 240 samples of a steady 120m and 200 MiB.
    usage = _usage([0.12] * 240, [200 * MIB] * 240)
    # CPU: 120m / 60 % = 200m (x 60 % would be 72m -> 80m).
    # Memory: the peak under the 80 % target, 200 / 0.8 = 250Mi, beats +15 % = 230Mi (x 80 %: 160).
    assert _recommended(60, 80, usage) == ("200m", "250Mi")
    # The other side: at a 90 % target 200 / 0.9 = 222.2 -> 223Mi, under the 230Mi of the headroom.
    assert _recommended(60, 90, usage) == ("200m", "230Mi")
    # 120m / 75 % = 160m; 200 / 0.87 = 229.9 -> 230Mi ties with the headroom, 200 / 0.86 = 232.6 -> 233Mi.
    assert _recommended(75, 87, usage) == ("160m", "230Mi")
    assert _recommended(75, 86, usage) == ("160m", "233Mi")


def test_rightsizing_rounds_up_to_10m_but_not_past_an_exact_multiple() -> None:
    memory = [100 * MIB] * 240
    # 70m / 70 % is 100m exactly (0.07 / 0.7 is 0.10000000000000002 in floating point: not 110m).
    assert _recommended(70, 80, _usage([0.07] * 240, memory))[0] == "100m"
    assert _recommended(70, 80, _usage([0.14] * 240, memory))[0] == "200m"
    # A millicore-thousandth above 100m rounds up to the next 10m.
    assert _recommended(70, 80, _usage([0.070001] * 240, memory))[0] == "110m"
    assert _recommended(60, 80, _usage([0.0723] * 240, memory))[0] == "130m"  # 120.5m
    # Near idle: never below 10m.
    assert _recommended(70, 80, _usage([0.0001] * 240, memory))[0] == "10m"


def test_rightsizing_takes_the_nearest_rank_percentile() -> None:
    # 20 values: p95 is the 19th (ceil(0.95 x 20)), a share just above takes the 20th.
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.95) == 19
    assert percentile(values, 0.951) == 20
    assert percentile(values, 1.0) == 20
    assert percentile(values, 0.05) == 1
    assert percentile(values, 0.01) == 1  # ceil(0.2) = 1: the first, never index -1
    # Through the recommendation: 2 pods x 10 samples, 10m..100m; p95 of the 20 is the 19th, 100m
    # (both pods have each value), over the 50 % target: 200m; a p90 would take 90m -> 180m.
    usage = _usage([0.01 * v for v in range(1, 11)], [100 * MIB] * 10)
    assert _recommended(50, 80, usage, min_samples=20)[0] == "200m"
    usage = _usage([0.01 * v for v in range(1, 10)] + [0.5], [100 * MIB] * 10, pods=1)
    # One pod, 10 samples: ceil(9.5) = 10th, the 500m outlier: 1000m over 50 %.
    assert _recommended(50, 80, usage, min_samples=10)[0] == "1000m"


def test_rightsizing_needs_min_samples() -> None:
    usage = _usage([0.1] * 240, [100 * MIB] * 240)  # 480 per-pod samples
    assert _recommended(70, 80, usage, min_samples=480)
    with pytest.raises(ValueError, match=r"480 per-pod samples .* asks for 481"):
        _recommended(70, 80, usage, min_samples=481)


def _between(request: str, limit: str, unit: str, scale: float) -> str:
    """A value other than the request that still validates: halfway to the limit, or under it."""
    now, most = float(parse_quantity(request)) * scale, float(parse_quantity(limit)) * scale
    value = int((now + most) / 2) if most > now + 1 else int(now) - 1
    return f"{value}{unit}"


def test_write_changes_only_the_request_values(stack: str, tmp_path: Path) -> None:
    """--write on a copy of each real stack file: the written file differs from it in the line(s)
    holding the two requests, by those values alone; every other byte is the original's."""
    shutil.copy2(cli.ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    path = tmp_path / f"Pulumi.{stack}.yaml"
    original = path.read_text()
    resources = cli.load_settings(stack).backend.resources
    cpu = _between(resources.requests.cpu, resources.limits.cpu, "m", 1000)
    memory = _between(resources.requests.memory, resources.limits.memory, "Mi", 1 / MIB)
    recommendations = [
        rightsize.Recommendation("cpu", resources.requests.cpu, cpu, "", ""),
        rightsize.Recommendation("memory", resources.requests.memory, memory, "", ""),
    ]
    rightsize.write(path, recommendations, cli.PROJECT, lambda: cli.load_settings(stack, tmp_path))
    written = path.read_text()

    before, after = original.splitlines(keepends=True), written.splitlines(keepends=True)
    # The lines that hold the two values, where ruamel's parser of the original finds them.
    from ruamel.yaml import YAML

    requests = YAML().load(original)["config"][f"{cli.PROJECT}:backend"]["resources"]["requests"]
    holding = {requests.lc.value(key)[0] for key in ("cpu", "memory")}
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    changed = {i for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal" for i in range(i1, i2)}
    assert changed == holding
    # Those lines with the old values swapped for the new, every other byte the original's.
    expected = list(before)
    for key, old, new in (("cpu", resources.requests.cpu, cpu), ("memory", resources.requests.memory, memory)):
        line, column = requests.lc.value(key)
        assert expected[line][column:].startswith(old)
        expected[line] = expected[line][:column] + new + expected[line][column + len(old) :]
    assert written.encode() == "".join(expected).encode()
    updated = cli.load_settings(stack, tmp_path).backend.resources
    assert (updated.requests.cpu, updated.requests.memory) == (cpu, memory)
    assert updated.limits == resources.limits


def test_write_puts_the_file_back_when_the_result_does_not_validate(stack: str, tmp_path: Path) -> None:
    shutil.copy2(cli.ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    path = tmp_path / f"Pulumi.{stack}.yaml"
    original = path.read_bytes()
    limits = cli.load_settings(stack).backend.resources.limits
    over = f"{int(float(parse_quantity(limits.cpu)) * 1000) + 10}m"  # above the limit: refused
    recommendations = [rightsize.Recommendation("cpu", "", over, "", "")]
    with pytest.raises(ValueError, match="the result does not validate"):
        rightsize.write(path, recommendations, cli.PROJECT, lambda: cli.load_settings(stack, tmp_path))
    assert path.read_bytes() == original
