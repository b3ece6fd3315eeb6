"""The HPA controller's algorithm (capacity/controller.py) against cases computed by hand: policies,
periods, windows, bounds, missing and unready pods, the older path without `behavior`."""

from __future__ import annotations

import pytest

from capacity.controller import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    Controller,
    PodSample,
    Policy,
    Rules,
    Spec,
)

REQUEST = {"cpu": 100, "memory": 100}
NEVER = Rules(0, "Disabled", (Policy("Pods", 1, 15),))


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
    assert controller.sync(45, 2, _pods(100, 100)) == 2  # still: the later, higher 4 does not hide it
    assert controller.sync(75, 2, _pods(100, 100)) == 4


def test_a_window_takes_its_extreme_over_every_recommendation_still_in_it() -> None:
    """A later, more cautious recommendation outlasts an earlier one: the window's extreme is then
    the later one, also once the earlier one is gone."""
    up = _controller(up=Rules(60, "Max", (Policy("Percent", 100, 15), Policy("Pods", 4, 15))))
    assert up.sync(0, 2, _pods(50, 50)) == 2
    assert up.sync(15, 2, _pods(200, 200)) == 2  # wants 8; 2 was recommended at 0 s
    assert up.sync(65, 2, _pods(100, 100)) == 4  # the 0 s one left: the lowest is this 4, not 15 s's 8
    assert up.sync(70, 4, _pods(200, 200, 200, 200)) == 4  # wants 16; 65 s's 4 is the lowest
    down = _controller(down=Rules(60, "Max", (Policy("Percent", 100, 15),)))
    assert down.sync(0, 4, _pods(50, 50, 50, 50)) == 4
    assert down.sync(15, 4, _pods(10, 10, 10, 10)) == 4  # wants 1; 4 was recommended at 0 s
    assert down.sync(65, 4, _pods(25, 25, 25, 25)) == 2  # the 0 s one left: the highest is this 2, not 15 s's 1
    assert down.sync(70, 2, _pods(5, 5)) == 2  # wants 1; 65 s's 2 is the highest


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


@pytest.mark.parametrize("usage", [10, 48, 55, 150, 500])
def test_the_steady_state_shortcut_agrees_with_the_full_calculation(usage: int) -> None:
    # One shared sample for every settled pod (simulate's shortcut) against distinct equal samples.
    shared = _pods(usage)[0]
    for current in (1, 3, 7):
        fast = _controller().replicas_for("cpu", current, [shared] * current)
        full = _controller().replicas_for("cpu", current, _pods(*[usage] * current))
        assert fast == full
