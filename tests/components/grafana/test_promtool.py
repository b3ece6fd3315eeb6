"""The alerts proven by Prometheus itself: the generated rules file (the Grafana rules' twin) passes
`promtool check rules`, and `promtool test rules` replays series for each stack's thresholds.

Every case runs several pods: a saturated (slow, missing, full) one, an idle (fast, hitting) one, and
decoys that are not ours: a pod of another Deployment in the same namespace whose name also starts
with the backend's (``<name>-worker-<hash>-<suffix>``), and a pod named like ours in another
namespace. Each decoy is built to flip its case if a query counted it. Each alert fires once breached
for its `for`, not before; each threshold and each minimum rate is proven on both sides and at the
exact boundary (``>`` against ``>=``); the dashboard's queries and the alerts' values are proven
blind to the decoys by replaying the same backend twice, once without and once with them.

Expectations come from the stack's settings, and each value expected in an annotation is computed
here the way Prometheus computes it: ``promql/quantile.go`` (``bucketQuantile``: linear inside a
bucket, the largest finite bound once the rank falls in ``+Inf``), ``promql/functions.go``
(``extrapolatedRate``: with a sample at each end of the window, the increase over the window's
seconds), ``template/template.go`` (``humanizeDuration``, ``humanizePercentage``) and
``cmd/promtool/unittest.go`` (samples compared exactly, with ``reflect.DeepEqual``), all of
prometheus/prometheus.

Each promtool run is kept by what it reads (tests/tool_results.py): a warm suite runs promtool again
only over files that changed; a fresh clone, or ``KEEP_TOOL_RESULTS=false``, replays every case.
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from helpers import required_tool
from tool_results import run_kept

from components.grafana import alert_rules, dashboard, promql
from settings import metrics
from settings.observability import seconds
from settings.stack import StackSettings

HASH = "5d8f7c9b4"  # a ReplicaSet hash, as the Deployment names its pods <name>-<hash>-<suffix>
P95 = 0.95  # what "p95" means: the spec, not read from the code under test
FLOOD = 20  # a decoy's traffic, in multiples of the backend's: enough to flip any case it joins
LATENCY, CACHE, POOL = (
    "ReconciliationDbQueryLatencyHigh",
    "ReconciliationCacheHitRateLow",
    "ReconciliationDbPoolSaturated",
)


def _promtool() -> str:
    return required_tool("promtool")


class Replay:
    """One stack's replay: its pods, its window, and series builders over ``samples`` minutes."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        name, namespace = settings.object_name("deployment"), settings.kubernetes.namespace
        self.namespace = namespace
        self.busy = (namespace, f"{name}-{HASH}-x2x7q")
        self.idle = (namespace, f"{name}-{HASH}-h8k2m")
        # Another Deployment's pod whose name starts with ours, and our pod name in another namespace.
        self.decoys = ((namespace, f"{name}-worker-7c9d5b8f6-q4w9z"), (f"{namespace}-canary", f"{name}-{HASH}-d3c0y"))
        self.window = seconds(settings.grafana.rate_window) // 60  # minutes (whole: see _window_cases)
        self.alerts = _alerts(settings)
        longest = max(seconds(a.pending) for a in self.alerts.values()) // 60
        self.samples = max(60, self.window + longest + 10)

    def series(self, metric: str, values: str, where: tuple[str, str], **labels: str) -> dict:
        matchers = {"namespace": where[0], "pod": where[1], **labels}
        return {"series": metric + "{" + ", ".join(f'{k}="{v}"' for k, v in matchers.items()) + "}", "values": values}

    def rising(self, per_minute: float) -> str:
        return f"0+{_number(per_minute)}x{self.samples}"

    def flat(self, value: float) -> str:
        return f"{_number(value)}x{self.samples}"

    def firing_at(self, pending: str, gauge: bool = False) -> str:
        """A minute after the condition surely held for `for`: from the first sample for a gauge,
        once the window is full for a rate (extrapolation at a series' start reads low)."""
        settled = 0 if gauge else self.window
        return f"{settled + seconds(pending) // 60 + 1}m"

    def checks(self, name: str, value: str, pending: str, gauge: bool = False) -> list[dict]:
        """Silent a minute before the condition can have held for `for`, firing a minute after it
        surely has. A gauge breaches from the first sample; a rate from its second sample at the
        earliest (one minute)."""
        earliest = 0 if gauge else 1
        return [
            {"eval_time": f"{earliest + seconds(pending) // 60 - 1}m", "alertname": name, "exp_alerts": []},
            {"eval_time": self.firing_at(pending, gauge), "alertname": name, "exp_alerts": self.expected(name, value)},
        ]

    def fires(self, name: str, value: str, pending: str, gauge: bool = False) -> list[dict]:
        return [
            {"eval_time": self.firing_at(pending, gauge), "alertname": name, "exp_alerts": self.expected(name, value)}
        ]

    def silent(self, name: str, pending: str, gauge: bool = False) -> list[dict]:
        # Where it would have fired, and well past any onset: nothing fired, nothing will.
        late = f"{self.samples - 1}m"
        return [{"eval_time": t, "alertname": name, "exp_alerts": []} for t in (self.firing_at(pending, gauge), late)]

    def expected(self, name: str, value: str) -> list[dict]:
        alert = self.alerts[name]
        return [
            {
                "exp_labels": {"alertname": name, **alert_rules.labels(self.settings, alert)},
                "exp_annotations": alert_rules.rule_annotations(self.settings, alert, "$value")
                | {
                    "description": alert.description.replace("{{ VALUE | humanizeDuration }}", value).replace(
                        "{{ VALUE | humanizePercentage }}", value
                    )
                },
            }
        ]


def _alerts(settings) -> dict[str, alert_rules.AlertDefinition]:
    return {alert.name: alert for alert in alert_rules.definitions(settings)}


def _number(value: float) -> str:
    # Exact in the series notation: `:g` would round 1234567 to 1.23457e+06.
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _humanize_duration(value: float) -> str:
    # template.go's humanizeDuration below a minute: %.4g seconds, or milliseconds under one second.
    return f"{value:.4g}s" if value >= 1 else f"{value * 1000:.4g}ms"


def _humanize_percentage(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"  # template.go: fmt.Sprintf("%.4g%%", v*100)


def _per_second(per_minute: float, window: int) -> float:
    # extrapolatedRate with samples at both ends of the window: the increase over its seconds.
    return (per_minute * window) / (window * 60)


def _exact_per_minute(rate: float, window: int) -> int | None:
    """Per-minute increments whose rate() is exactly ``rate`` as the rules file writes it, if any."""
    per_minute = Fraction(f"{rate:g}") * 60
    return int(per_minute) if per_minute.denominator == 1 and _per_second(int(per_minute), window) == rate else None


def _quantile(q: float, cumulative: Sequence[float]) -> float:
    """quantile.go's bucketQuantile over the finite bounds and +Inf (cumulative rates)."""
    bounds = metrics.DB_QUERY_BUCKETS
    rank = q * cumulative[-1]
    index = next(i for i, count in enumerate(cumulative) if count >= rank)
    if index == len(bounds):  # the rank falls in +Inf: the largest finite bound
        return bounds[-1]
    start, count = 0.0, cumulative[index]
    if index > 0:
        start = bounds[index - 1]
        count -= cumulative[index - 1]
        rank -= cumulative[index - 1]
    return start + (bounds[index] - start) * (rank / count)


def _p95(traffic: Mapping[tuple[str, str], Sequence[float]], window: int) -> float:
    """The p95 the rules compute over ``traffic``: per pod, queries per minute in each bucket
    (index len(bounds): slower than every finite bound), summed by le across pods."""
    per_pod = [[_per_second(c, window) for c in itertools.accumulate(counts)] for counts in traffic.values()]
    summed = [sum(rates) for rates in zip(*per_pod, strict=True)]
    return _quantile(P95, summed)


def _histogram(replay: Replay, traffic: Mapping[tuple[str, str], Sequence[float]]) -> list[dict]:
    les = [*(f"{b:g}" for b in metrics.DB_QUERY_BUCKETS), "+Inf"]
    rows = []
    for where, counts in traffic.items():
        cumulative = list(itertools.accumulate(counts))
        bucket = f"{metrics.DB_QUERY_DURATION}_bucket"
        rows += [replay.series(bucket, replay.rising(c), where, le=le) for le, c in zip(les, cumulative, strict=True)]
        rows.append(replay.series(f"{metrics.DB_QUERY_DURATION}_count", replay.rising(cumulative[-1]), where))
    return rows


def _in_bucket(target: float, total: int) -> tuple[list[int], list[int]]:
    """Queries per minute, by bucket, whose p95 lands near ``target``: ``below`` of them in the
    bucket under target's (the idle pod's), the rest in target's bucket and above it (the busy pod's)."""
    bounds = metrics.DB_QUERY_BUCKETS
    index = next(i for i, bound in enumerate(bounds) if target <= bound)
    start = bounds[index - 1] if index else 0.0
    x = (target - start) / (bounds[index] - start)
    # p95 = start + width * (0.95 - below) / inside, with above = 1 - below - inside.
    if x < P95 and index:
        below = (P95 - x) / (1 - x)
        inside, above = 1 - below, 0.0
    else:
        below, inside = 0.0, min(1.0, P95 / x)
        above = 1 - inside
    counts = [0] * (len(bounds) + 1)
    counts[index] = round(total * inside)
    counts[index + 1] = round(total * above)
    fast = [0] * (len(bounds) + 1)
    fast[max(index - 1, 0)] = total - counts[index] - counts[index + 1]
    return fast, counts


def _latency_cases(replay: Replay) -> list[dict]:
    settings = replay.settings
    alert = settings.grafana.alerts.db_query_latency_p95
    pending, threshold, floor = alert.for_, alert.threshold, alert.min_query_rate
    bounds, window = metrics.DB_QUERY_BUCKETS, replay.window
    slots = len(bounds) + 1
    total = max(4000, math.ceil(floor * 60 * 4))  # queries per minute: fine-grained and over the floor

    def only(index: int, per_minute: float) -> list[float]:
        return [per_minute if i == index else 0 for i in range(slots)]

    fast_flood = {where: only(0, total * FLOOD) for where in replay.decoys}  # dilutes any p95 to <= 1 ms
    slow_flood = {where: only(slots - 1, total * FLOOD) for where in replay.decoys}  # drags it to the top

    def case(traffic: dict, decoys: dict, checks: list[dict]) -> dict:
        return {"input_series": _histogram(replay, traffic | decoys), "alert_rule_test": checks}

    cases = []
    # Just above and just below the threshold, the slow queries all on one pod, the fast on the other.
    above = min(threshold * 1.02, (threshold + bounds[-1]) / 2)
    below = threshold * 0.98
    for target, breached in ((above, True), (below, False)):
        fast, slow = _in_bucket(target, total)
        traffic: dict[tuple[str, str], Sequence[float]] = {replay.idle: fast, replay.busy: slow}
        p95 = _p95(traffic, window)
        assert (p95 > threshold) is breached, (target, p95)  # the construction itself, checked
        if breached:
            cases.append(case(traffic, fast_flood, replay.checks(LATENCY, _humanize_duration(p95), pending)))
        else:
            cases.append(case(traffic, slow_flood, replay.silent(LATENCY, pending)))
    # One pod's queries all slow but only 4 % of the traffic: the p95 across pods is fast, the
    # busy pod's own would be the top bucket.
    tail = {replay.busy: only(slots - 1, total * 4 // 100), replay.idle: only(0, total * 96 // 100)}
    assert _p95(tail, window) < threshold
    cases.append(case(tail, slow_flood, replay.silent(LATENCY, pending)))
    # No traffic at all: no data, not a NaN breach; a busy decoy must not make it fire.
    cases.append(
        case({replay.busy: only(slots - 1, 0), replay.idle: only(0, 0)}, slow_flood, replay.silent(LATENCY, pending))
    )
    # The minimum query rate: slow queries (the top bucket, p95 = the largest finite bound) at
    # exactly the floor fire (>=), just under it stay silent; the idle pod runs none.
    exact = _exact_per_minute(floor, window)
    if exact is not None:  # a floor no whole number of queries per minute reaches exactly: both sides below
        traffic = {replay.busy: only(slots - 1, exact), replay.idle: only(0, 0)}
        cases.append(case(traffic, fast_flood, replay.fires(LATENCY, _humanize_duration(bounds[-1]), pending)))
    under = exact - 1 if exact and exact > 1 else floor * 60 * 0.9
    cases.append(
        case(
            {replay.busy: only(slots - 1, under), replay.idle: only(0, 0)},
            # Fast queries that would lift the rate over the floor, the slow ones still above 5 %.
            {where: only(0, floor * 60) for where in replay.decoys[:1]},
            replay.silent(LATENCY, pending),
        )
    )
    cases.append(  # just over the floor
        case(
            {replay.busy: only(slots - 1, floor * 60 * 1.1), replay.idle: only(0, 0)},
            fast_flood,
            replay.fires(LATENCY, _humanize_duration(bounds[-1]), pending),
        )
    )
    return cases


def _lookups(ratio: Fraction, at_least: float) -> tuple[int, int]:
    """Hits and misses per minute whose rates are exact binary fractions (15 p per minute is p/4 per
    second): their sum is exact and hits / (hits + misses) rounds to ``ratio`` itself."""
    scale = Fraction(1, 4)
    while ratio.denominator * scale < at_least:
        scale *= 2
    return int(60 * ratio.numerator * scale), int(60 * (ratio.denominator - ratio.numerator) * scale)


def _hit_rate(hits: float, misses: float, window: int) -> float:
    h, m = _per_second(hits, window), _per_second(misses, window)
    return h / (h + m)


def _cache_cases(replay: Replay) -> list[dict]:
    settings = replay.settings
    alert = settings.grafana.alerts.cache_hit_rate
    pending, floor, window = alert.for_, alert.min_lookup_rate, replay.window
    threshold = Fraction(f"{alert.threshold:g}")  # what the rules file compares with
    labels = {"cache_level": "redis", "key_type": "account"}
    busy = max(4000, math.ceil(floor * 60 * 4))

    def lookups(hits: dict, misses: dict) -> list[dict]:
        rows = [replay.series(metrics.CACHE_HITS, replay.rising(n), w, **labels) for w, n in hits.items()]
        return rows + [replay.series(metrics.CACHE_MISSES, replay.rising(n), w, **labels) for w, n in misses.items()]

    hit_flood = dict.fromkeys(replay.decoys, busy * FLOOD)
    miss_flood = dict(hit_flood)

    def case(hits: dict, misses: dict, checks: list[dict]) -> dict:
        return {"input_series": lookups(hits, misses), "alert_rule_test": checks}

    cases = [
        # Only misses, and no hits series at all: 0 %, not nothing; the decoys' hits must not help.
        case(hit_flood, {replay.busy: busy}, replay.checks(CACHE, "0%", pending)),
    ]
    # Below, at and above the threshold: the hits all on the idle pod, the misses all on the busy
    # one (whose own rate is 0 %). At the threshold itself the alert (<) stays silent.
    for ratio, breached in (
        (threshold * Fraction(19, 20), True),
        (threshold, False),
        (threshold + (1 - threshold) / 20, False),
    ):
        hits, misses = _lookups(ratio, 2 * floor)
        assert (_hit_rate(hits, misses, window) < alert.threshold) is breached
        if breached:
            value = _humanize_percentage(_hit_rate(hits, misses, window))
            cases.append(
                case({replay.idle: hits} | hit_flood, {replay.busy: misses}, replay.fires(CACHE, value, pending))
            )
        else:
            cases.append(case({replay.idle: hits}, {replay.busy: misses} | miss_flood, replay.silent(CACHE, pending)))
    # No traffic: 0/0 is no data, never NaN, whatever the decoys do.
    cases.append(case({replay.idle: 0}, {replay.busy: 0} | miss_flood, replay.silent(CACHE, pending)))
    # The minimum lookup rate: only misses, at exactly the floor fire (>=), just under it do not.
    exact = _exact_per_minute(floor, window)
    if exact is not None:
        cases.append(case({replay.idle: 0} | hit_flood, {replay.busy: exact}, replay.fires(CACHE, "0%", pending)))
    under = exact - 1 if exact and exact > 1 else floor * 60 * 0.9
    decoy_misses = {replay.decoys[0]: floor * 60}  # would lift the lookups over the floor
    cases.append(case({replay.idle: 0}, {replay.busy: under} | decoy_misses, replay.silent(CACHE, pending)))
    cases.append(
        case({replay.idle: 0} | hit_flood, {replay.busy: floor * 60 * 1.1}, replay.fires(CACHE, "0%", pending))
    )
    return cases


def _pool_cases(replay: Replay) -> list[dict]:
    alert = replay.settings.grafana.alerts.db_pool_utilization
    pending = alert.for_
    threshold = Fraction(f"{alert.threshold:g}")
    size = threshold.denominator * math.ceil(100 / threshold.denominator)  # connections: thr * size is whole
    at = int(threshold * size)

    def pools(active: dict[tuple[str, str], int]) -> list[dict]:
        rows = []
        for where, used in active.items():
            rows += [
                replay.series(metrics.POOL_ACTIVE, replay.flat(used), where),
                replay.series(metrics.POOL_IDLE, replay.flat(size - used), where),
                replay.series(metrics.POOL_TOTAL, replay.flat(size), where),
            ]
        return rows

    saturated = dict.fromkeys(replay.decoys, size)
    idle = dict.fromkeys(replay.decoys, 0)
    return [
        {  # one pod over the threshold, the other idle: the fullest pod decides (max, not min or avg)
            "input_series": pools({replay.busy: at + 1, replay.idle: 0} | idle),
            "alert_rule_test": replay.checks(POOL, _humanize_percentage((at + 1) / size), pending, gauge=True),
        },
        {  # exactly at the threshold: > is not >=; the saturated decoys are not ours
            "input_series": pools({replay.busy: at, replay.idle: 0} | saturated),
            "alert_rule_test": replay.silent(POOL, pending, gauge=True),
        },
        {
            "input_series": pools({replay.busy: at - 1, replay.idle: 0} | saturated),
            "alert_rule_test": replay.silent(POOL, pending, gauge=True),
        },
    ]


def _window_cases(replay: Replay) -> list[dict]:
    """The rate window, the ratio's direction and the gates, as values at one instant: traffic that
    stops (hits) or runs on (misses) half a window before the evaluation."""
    settings = replay.settings
    if seconds(settings.grafana.rate_window) % 60:
        return []  # samples every minute: only a whole-minute window ends on a sample at both sides
    window, stop = replay.window, 30
    late = window // 2 + 1  # minutes after the stop; the window still holds window - late of them
    scale = max(1, math.ceil(settings.grafana.alerts.cache_hit_rate.min_lookup_rate))  # over the gate
    hits, misses, queries = 600 * scale, 120 * scale, 900  # per minute
    alerts = _alerts(settings)

    def stopped(per_minute: int) -> str:
        return f"0+{per_minute}x{stop} {per_minute * stop}x{replay.samples - stop}"

    # extrapolatedRate over a window with a sample at each end: the increase over its seconds.
    hit_rate = (hits * (window - late)) / (window * 60)
    miss_rate = (misses * window) / (window * 60)
    at = f"{stop + late}m"
    return [
        {
            "input_series": [
                replay.series(metrics.CACHE_HITS, stopped(hits), replay.idle, cache_level="redis"),
                replay.series(metrics.CACHE_MISSES, replay.rising(misses), replay.busy, cache_level="redis"),
                # A level that has missed but never hit yet: no hits series at all for it.
                replay.series(metrics.CACHE_MISSES, replay.rising(misses), replay.busy, cache_level="local"),
                replay.series(f"{metrics.DB_QUERY_DURATION}_count", stopped(queries), replay.busy),
                replay.series(metrics.POOL_ACTIVE, replay.flat(3), replay.busy),
                replay.series(metrics.POOL_TOTAL, replay.flat(4), replay.busy),
                replay.series(metrics.POOL_ACTIVE, replay.flat(0), replay.idle),
                replay.series(metrics.POOL_TOTAL, replay.flat(0), replay.idle),
            ],
            "promql_expr_test": [
                {
                    "expr": alerts[CACHE].expr,
                    "eval_time": at,
                    "exp_samples": [{"labels": "{}", "value": hit_rate / (hit_rate + (miss_rate + miss_rate))}],
                },
                {  # per level: the level with only misses reads 0, not nothing
                    "expr": promql.cache_hit_rate(settings, "cache_level"),
                    "eval_time": at,
                    "exp_samples": [
                        {"labels": '{cache_level="local"}', "value": 0.0},
                        {"labels": '{cache_level="redis"}', "value": hit_rate / (hit_rate + miss_rate)},
                    ],
                },
                {
                    "expr": promql.db_query_rate(settings),
                    "eval_time": at,
                    "exp_samples": [{"labels": "{}", "value": (queries * (window - late)) / (window * 60)}],
                },
                {  # the idle pod's pool is not open yet (0 of 0): no value for it, never NaN
                    "expr": promql.pool_utilization(settings),
                    "eval_time": at,
                    "exp_samples": [{"labels": f'{{pod="{replay.busy[1]}"}}', "value": 3 / 4}],
                },
                {"expr": alerts[POOL].expr, "eval_time": at, "exp_samples": [{"labels": "{}", "value": 3 / 4}]},
                {  # a whole window after the stop, the queries have no rate left
                    "expr": promql.db_query_rate(settings),
                    "eval_time": f"{stop + window}m",
                    "exp_samples": [{"labels": "{}", "value": 0.0}],
                },
            ],
        }
    ]


# yaml.safe_dump's text written by libyaml, where PyYAML has it: the same bytes, ten times sooner.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(document: dict, width: int | None = None) -> str:
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, width=width)


def _documents(settings) -> tuple[dict, dict]:
    """The rules file and the replay's test file, as documents."""
    replay = Replay(settings)
    cases = [*_latency_cases(replay), *_cache_cases(replay), *_pool_cases(replay), *_window_cases(replay)]
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": settings.grafana.evaluation_interval,
        "tests": [{"interval": "1m", **case} for case in cases],
    }
    return alert_rules.prometheus_rules(settings), tests


def _write(settings, folder: Path, documents: tuple[dict, dict] | None = None) -> tuple[Path, Path]:
    rules_document, tests = documents or _documents(settings)
    rules, test_file = folder / "rules.yaml", folder / "rules.test.yaml"
    rules.write_text(_dump(rules_document))
    test_file.write_text(_dump(tests))
    return rules, test_file


def _alerts_checked(case: dict) -> set[str]:
    return {check["alertname"] for check in case.get("alert_rule_test", [])}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """promtool over the files of ``cwd`` (all it reads: the test file and the rules it names), kept
    by their content, the command and the promtool binary's bytes (tests/tool_results.py)."""
    promtool = _promtool()
    # Its whole environment, so the key covers it: Go's garbage collector at a quarter of its default
    # pace, a replay costing promtool about a fifth less CPU for some 100 MB more memory; nothing
    # promtool judges depends on it.
    return run_kept([promtool, *args], cwd, Path(promtool), environ={"GOGC": "400"})


def test_the_rules_file_passes_promtool_check(settings, tmp_path: Path) -> None:
    rules, _ = _write(settings, tmp_path)
    completed = _run("check", "rules", rules.name, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "SUCCESS: 3 rules found" in completed.stdout


def test_each_alert_fires_when_breached_and_only_then(settings, tmp_path: Path) -> None:
    _, test_file = _write(settings, tmp_path)
    completed = _run("test", "rules", test_file.name, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_promtool_fails_the_naive_queries_of_the_proposal(settings, tmp_path: Path) -> None:
    # Proves the replay can fail: the proposal's ratio, rate(hits) / (rate(hits) + rate(misses)),
    # matches series one to one and vanishes when only misses exist, so the 0 % case goes silent.
    document, tests = _documents(settings)
    for rule in document["groups"][0]["rules"]:
        if rule["alert"] == CACHE:
            window = settings.grafana.rate_window
            hits, misses = (f"rate({m}[{window}])" for m in (metrics.CACHE_HITS, metrics.CACHE_MISSES))
            rule["expr"] = f"{hits} / ({hits} + {misses}) < {settings.grafana.alerts.cache_hit_rate.threshold:g}"
    # The replay's cases of that alert: no other case reads its rule (the other alerts' cases check
    # their own alert by name; the expression cases evaluate queries, not the rules file), so the
    # others pass here as they do in test_each_alert_fires_when_breached_and_only_then.
    tests["tests"] = [case for case in tests["tests"] if CACHE in _alerts_checked(case)]
    assert len(tests["tests"]) > 1
    _, test_file = _write(settings, tmp_path, (document, tests))
    completed = _run("test", "rules", test_file.name, cwd=tmp_path)
    assert completed.returncode != 0
    assert CACHE in completed.stdout + completed.stderr


WORLD = 70  # minutes of each replay: the restarts panel's increase() needs a full hour
SECOND = 180  # minute at which the second replay (with the decoys) starts
COMPARED = 65  # minute of each replay at which the two are compared


def _queries(settings) -> dict[str, str]:
    """Every dashboard target and every alert's judged value, by a recording rule's name."""
    found = {}
    for panel in dashboard.dashboard(settings)["panels"]:
        for target in panel.get("targets", []):
            found[f"panel:id{panel['id']}_{target['refId']}"] = target["expr"]
    for alert in alert_rules.definitions(settings):
        found[f"alert:{alert.key}"] = alert.expr
    return found


def _world(replay: Replay) -> dict[tuple[str, str], list[tuple[str, dict, list[float]]]]:
    """Each pod's series over one replay: (metric, labels, values per minute). Traffic everywhere,
    so no quantile or ratio is empty or NaN; the decoys' is the extreme of everything."""
    minutes = range(WORLD)
    les = [*(f"{b:g}" for b in metrics.DB_QUERY_BUCKETS), "+Inf"]

    def pod(scale: int, slow: bool, oom: int) -> list[tuple[str, dict, list[float]]]:
        rows: list[tuple[str, dict, list[float]]] = []
        for route, per_minute in (("/api/accounts", 40 * scale), ("/api/ledger", 25 * scale)):
            # Fast pods answer in the first buckets, slow ones mostly past the largest.
            shares = [0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.0] if not slow else [0, 0, 0, 0, 0, 0, 0, 0.1, 0.9]
            cumulative = list(itertools.accumulate(round(per_minute * s) for s in shares))
            for le, count in zip(les, cumulative, strict=True):
                rows.append(
                    (f"{metrics.DB_QUERY_DURATION}_bucket", {"route": route, "le": le}, [count * t for t in minutes])
                )
            rows.append((f"{metrics.DB_QUERY_DURATION}_count", {"route": route}, [cumulative[-1] * t for t in minutes]))
        for level, hit, miss in (("local", 30, 10), ("redis", 12, 8)):
            # A slow pod mostly misses, a fast one mostly hits.
            hits, misses = (hit, miss * scale * 4) if slow else (hit * scale, miss)
            rows.append((metrics.CACHE_HITS, {"cache_level": level}, [hits * t for t in minutes]))
            rows.append((metrics.CACHE_MISSES, {"cache_level": level}, [misses * t for t in minutes]))
        active = 20 if slow else 3
        for metric, value in (
            (metrics.POOL_ACTIVE, active),
            (metrics.POOL_IDLE, 20 - active),
            (metrics.POOL_TOTAL, 20),
        ):
            rows.append((metric, {}, [value] * WORLD))
        container = {"container": "backend"}
        rows.append((metrics.CONTAINER_CPU, container, [(0.9 if slow else 0.1) * 60 * t for t in minutes]))
        rows.append((metrics.CONTAINER_MEMORY, container, [float((900 if slow else 150) << 20)] * WORLD))
        rows.append((metrics.CONTAINER_RESTARTS, container, [float(t // 10 if slow else t // 40) for t in minutes]))
        rows.append((metrics.CONTAINER_LAST_TERMINATED, {**container, "reason": "OOMKilled"}, [float(oom)] * WORLD))
        return rows

    return {
        replay.busy: pod(2, slow=False, oom=1),
        replay.idle: pod(1, slow=False, oom=0),
        **{where: pod(FLOOD, slow=True, oom=1) for where in replay.decoys},
    }


def _deployments(replay: Replay) -> list[tuple[tuple[str, str], bool, float]]:
    """(namespace, Deployment), ours, replicas: ours, one named like ours plus -worker, ours elsewhere."""
    name = replay.settings.object_name("deployment")
    return [
        ((replay.namespace, name), True, 2.0),
        ((replay.namespace, f"{name}-worker"), False, 7.0),
        ((f"{replay.namespace}-canary", name), False, 9.0),
    ]


def _invariance_files(settings, folder: Path) -> Path:
    replay = Replay(settings)
    queries = _queries(settings)
    rules = {
        "groups": [
            {"name": "dashboard", "interval": "1m", "rules": [{"record": n, "expr": e} for n, e in queries.items()]}
        ]
    }
    (folder / "queries.yaml").write_text(_dump(rules))
    gap = SECOND - WORLD

    def values(first: list[float] | None, second: list[float]) -> str:
        head = [_number(v) for v in first] if first is not None else ["_"] * WORLD
        return " ".join([*head, *(["_"] * gap), *(_number(v) for v in second)])

    series = []
    for where, rows in _world(replay).items():
        ours = where in (replay.busy, replay.idle)
        for metric, labels, per_minute in rows:
            row = replay.series(metric, "", where, **labels)
            series.append({**row, "values": values(per_minute if ours else None, per_minute)})
    for (namespace, deployment), ours, value in _deployments(replay):
        for metric in (metrics.DEPLOYMENT_AVAILABLE, metrics.DEPLOYMENT_DESIRED):
            selector = f'{{namespace="{namespace}", deployment="{deployment}"}}'
            curve = [value] * WORLD
            series.append({"series": metric + selector, "values": values(curve if ours else None, curve)})
    at = f"{SECOND + COMPARED}m"
    offset = f"{SECOND}m"
    checks = []
    for name in queries:
        before = f"{name} offset {offset}"
        moved = f"({name} != {before}) or ({name} unless {before}) or ({before} unless {name})"
        checks.append({"expr": moved, "eval_time": at, "exp_samples": []})
        checks.append({"expr": f"absent({name})", "eval_time": at, "exp_samples": []})  # not vacuous
        checks.append({"expr": f"count({name} != {name})", "eval_time": at, "exp_samples": []})  # no NaN
    tests = {
        "rule_files": ["queries.yaml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": checks}],
    }
    test_file = folder / "queries.test.yaml"
    test_file.write_text(_dump(tests, width=1 << 20))
    return test_file


def test_the_dashboard_and_the_alerts_ignore_other_workloads_pods(settings, tmp_path: Path) -> None:
    """The backend's pods replayed twice, the second time beside the decoys (another Deployment's
    pods named <name>-worker-..., our pod names in another namespace, their Deployments' replica
    counts): every panel query and every alert value reads the same, and none is empty or NaN."""
    test_file = _invariance_files(settings, tmp_path)
    completed = _run("test", "rules", test_file.name, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


@pytest.mark.parametrize(
    "widened",
    [
        '{namespace="NS", pod=~"NAME-.+"}',  # any pod whose name starts with ours
        '{pod=~"NAME-[a-z0-9]+-[a-z0-9]+"}',  # any namespace
    ],
    ids=["pod prefix", "no namespace"],
)
def test_a_widened_selector_is_caught_by_the_decoys(settings, tmp_path: Path, monkeypatch, widened: str) -> None:
    # Proves the invariance replay can fail: with a looser selector the decoys move the queries.
    name, namespace = settings.object_name("deployment"), settings.kubernetes.namespace
    loose = widened.replace("NAME", name).replace("NS", namespace)
    monkeypatch.setattr(
        promql, "selector", lambda _settings, *extra: loose[:-1] + "".join(f", {e}" for e in extra) + "}"
    )
    test_file = _invariance_files(settings, tmp_path)
    completed = _run("test", "rules", test_file.name, cwd=tmp_path)
    assert completed.returncode != 0
    # Every query that selects pods moved (promtool reports failures on stderr), and nothing else did.
    moved = set(re.findall(r'expr: "\((\S+) != ', completed.stdout + completed.stderr))
    assert moved == {name for name, expr in _queries(settings).items() if "pod=~" in expr}
