"""Load profiles: load (units, requests per second) as a function of seconds since the start."""

from __future__ import annotations

import csv
import math
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path

Profile = Callable[[float], float]
DAY = 86400
# After a one-off shape has brought the load back to its base for good, a default run goes on this
# long: the scale-down (a 5-minute window, then each policy period) is part of what it shows.
SETTLE = 1800


def step(base: float, factor: float, at: int = 300, until: int = 1800) -> Profile:
    """`base`, then `factor` x `base` from `at` until `until`."""
    return lambda t: base * factor if at <= t < until else base


def ramp(base: float, factor: float, at: int = 300, over: int = 900, until: int = 2400) -> Profile:
    """A linear climb to `factor` x `base` over `over` seconds, held until `until`."""

    def load(t: float) -> float:
        if t < at or t >= until:
            return base
        return base * (1 + (factor - 1) * min(1.0, (t - at) / over))

    return load


def spike(base: float, factor: float, at: int = 300, lasting: int = 60) -> Profile:
    return step(base, factor, at, at + lasting)


def diurnal(base: float, factor: float) -> Profile:
    """Midnight at `base`, the peak at `factor` x `base` at noon (a cosine), repeating every day."""
    return lambda t: base * (1 + (factor - 1) * (1 - math.cos(2 * math.pi * (t % DAY) / DAY)) / 2)


def from_csv(path: Path) -> tuple[Profile, int]:
    """A recorded profile: rows of `seconds,load`, held until the next row; and its default run's
    seconds, to its last row and SETTLE more."""
    with path.open(newline="") as handle:
        rows = sorted((float(t), float(v)) for t, v in csv.reader(handle) if t.strip() and not t.startswith("#"))
    if not rows:
        raise ValueError(f"{path}: no `seconds,load` rows")
    times = [t for t, _ in rows]
    return (lambda t: rows[max(0, bisect_right(times, t) - 1)][1]), math.ceil(times[-1]) + SETTLE


BUILT_IN: dict[str, Callable[[float, float], Profile]] = {
    "step": step,
    "ramp": ramp,
    "spike": spike,
    "diurnal": diurnal,
}
# Each scenario's default run covers its whole shape (with the default arguments above): the one-off
# shapes until the load is back at its base for good (step and ramp at `until`, the spike after its
# minute) and SETTLE more; diurnal one whole day, from night through the peak back to night.
DEFAULT_SECONDS = {"step": 1800 + SETTLE, "ramp": 2400 + SETTLE, "spike": 360 + SETTLE, "diurnal": DAY}
