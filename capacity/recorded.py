"""Recorded usage from a Prometheus that scrapes the cluster's cAdvisor: the backend's per-pod CPU
and memory, selected by the stack's namespace, Deployment pod names and container. Standard
library only (urllib); every failure is a ValueError with a message that says what to fix."""

from __future__ import annotations

import itertools
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from components import promql
from components.pod import CONTAINER
from settings import metrics
from settings.stack import StackSettings

STEP_SECONDS = 15
# A missing scrape or two is normal; more than this between samples is a gap in the record.
MAX_GAP_STEPS = 4


@dataclass(frozen=True)
class Usage:
    """Per sample time: the backend's pods and what each used (CPU cores, memory bytes)."""

    times: list[float]
    cpu: list[dict[str, float]]  # per time: pod -> cores
    memory: list[dict[str, float]]  # per time: pod -> bytes


def queries(settings: StackSettings) -> dict[str, str]:
    # The same pods as the dashboard's and the alerts' queries: one selector, in components.promql.
    selector = promql.selector(settings, f'container="{CONTAINER}"')
    return {
        "cpu": f"sum by (pod) (rate({metrics.CONTAINER_CPU}{selector}[1m]))",
        "memory": f"sum by (pod) ({metrics.CONTAINER_MEMORY}{selector})",
    }


def query_range(url: str, query: str, start: float, end: float, step: int = STEP_SECONDS) -> list[dict]:
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
    address = f"{url.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(address, timeout=30) as response:
            body = json.load(response)
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot query Prometheus at {url}: {error}") from error
    if body.get("status") != "success":
        raise ValueError(f"Prometheus at {url} refused the query: {body.get('error', body)}")
    return body["data"]["result"]


def recorded_usage(settings: StackSettings, url: str, start: float, end: float) -> Usage:
    """The backend's usage between `start` and `end` (Unix seconds), every 15 s."""
    if end <= start:
        raise ValueError(f"the window is empty: --from {start:.0f} is not before --to {end:.0f}")
    found = {}
    for resource, query in queries(settings).items():
        series = query_range(url, query, start, end)
        if not series:
            raise ValueError(f"no {resource} series for the stack's pods in that window ({query})")
        found[resource] = {s["metric"].get("pod", "?"): {float(t): float(v) for t, v in s["values"]} for s in series}
    times = sorted({t for by_pod in found["cpu"].values() for t in by_pod})
    gaps = [(a, b) for a, b in itertools.pairwise(times) if b - a > MAX_GAP_STEPS * STEP_SECONDS]
    if gaps:
        a, b = gaps[0]
        raise ValueError(
            f"the window has {len(gaps)} gap(s) in the record, the first from {a:.0f} to {b:.0f} "
            f"({(b - a) / 60:.0f} min without samples): choose a window Prometheus recorded throughout"
        )
    cpu = [{pod: by_t[t] for pod, by_t in found["cpu"].items() if t in by_t} for t in times]
    memory = [{pod: by_t[t] for pod, by_t in found["memory"].items() if t in by_t} for t in times]
    return Usage(times, cpu, memory)


def load_series(settings: StackSettings, usage: Usage) -> list[tuple[float, float]]:
    """The recorded CPU turned back into load through the stack's load model: (seconds from start, units)."""
    model = settings.capacity.load
    start = usage.times[0]
    series = []
    for at, by_pod in zip(usage.times, usage.cpu, strict=True):
        millicores = sum(by_pod.values()) * 1000
        units = max(0.0, (millicores - model.cpu_millicores_baseline * len(by_pod)) / model.cpu_millicores_per_unit)
        series.append((at - start, units))
    return series


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0-1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
