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

from components.grafana import promql
from components.kubernetes.pod import CONTAINER
from settings import metrics
from settings.stack import StackSettings

STEP_SECONDS = 15
# A missing scrape or two is normal; more than this between samples is a gap in the record.
MAX_GAP_STEPS = 4
# Prometheus refuses a range query when (end - start) / step > 11,000 ("exceeded maximum resolution
# of 11,000 points per timeseries": queryRange in prometheus/prometheus web/api/v1/api.go): about
# 46 h at 15 s. Longer windows are fetched in chunks of at most this many points per series.
MAX_POINTS = 11_000


@dataclass(frozen=True)
class Usage:
    """Per sample time: the backend's pods and what each used (CPU cores, memory bytes)."""

    times: list[float]
    cpu: list[dict[str, float]]  # per time: pod -> cores
    memory: list[dict[str, float]]  # per time: pod -> bytes


def queries(settings: StackSettings) -> dict[str, str]:
    # The same pods as the dashboard's and the alerts' queries: one selector, in components.grafana.promql.
    selector = promql.selector(settings, f'container="{CONTAINER}"')
    return {
        "cpu": f"sum by (pod) (rate({metrics.CONTAINER_CPU}{selector}[1m]))",
        "memory": f"sum by (pod) ({metrics.CONTAINER_MEMORY}{selector})",
    }


def _request(url: str, query: str, start: float, end: float, step: int) -> list[dict]:
    """One /api/v1/query_range request; Prometheus' own reason when it refuses one."""
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step})
    address = f"{url.rstrip('/')}/api/v1/query_range?{params}"
    try:
        with urllib.request.urlopen(address, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as error:
        # Prometheus answers a refused query with a 4xx/5xx whose JSON body says why ("errorType",
        # "error"); urllib's own text is only "HTTP Error 400: Bad Request".
        raise ValueError(f"Prometheus at {url} refused the query (HTTP {error.code}): {_reason(error)}") from error
    except (urllib.error.URLError, OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot query Prometheus at {url}: {error}") from error
    if body.get("status") != "success":
        raise ValueError(
            f"Prometheus at {url} refused the query: {body.get('errorType', '?')}: {body.get('error', body)}"
        )
    return body["data"]["result"]


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
    except (OSError, ValueError):
        body = {}
    if not isinstance(body, dict) or "error" not in body:
        return f"{error.reason} (no Prometheus error in the response)"
    return f"{body.get('errorType', '?')}: {body['error']}"


def query_range(url: str, query: str, start: float, end: float, step: int = STEP_SECONDS) -> list[dict]:
    """The range query at `step`, in as many requests of at most MAX_POINTS points as the window needs.

    Chunks at the real step rather than a coarser step for long windows: rightsizing takes a
    percentile and the peak of every scrape, the gap check counts missing scrapes, and the replay
    syncs every 15 s like the controller; a coarser step would drop exactly the short peaks and gaps
    these are for. Each chunk starts one step after the previous one ends, on the same grid, so the
    merged series have every point once."""
    merged: dict[tuple, dict] = {}
    span = (MAX_POINTS - 1) * step  # a chunk of MAX_POINTS points, both ends included
    chunk_start = start
    while chunk_start <= end:
        chunk_end = min(end, chunk_start + span)
        for series in _request(url, query, chunk_start, chunk_end, step):
            key = tuple(sorted(series["metric"].items()))
            merged.setdefault(key, {"metric": series["metric"], "values": []})["values"].extend(series["values"])
        chunk_start = chunk_end + step
    return list(merged.values())


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
