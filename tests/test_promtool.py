"""The alerts proven by Prometheus itself: the generated rules file (the Grafana rules' twin) passes
`promtool check rules`, and `promtool test rules` replays series for each stack's thresholds:
each alert fires once breached for its `for`, not before; stays silent below its threshold, with
zero traffic and below its minimum traffic; and the cache alert fires at 0 % when only misses exist."""

from __future__ import annotations

import itertools
import math
import subprocess
from pathlib import Path

import yaml
from helpers import required_tool

from components import alert_rules
from settings import metrics
from settings.observability import seconds

POD = "5d8f7c9b4-x2x7q"  # a ReplicaSet hash and a pod suffix, as the Deployment names its pods
SAMPLES = 60  # one hour of one-minute samples


def _promtool() -> str:
    return required_tool("promtool")


def _series(settings, metric: str, values: str, **labels: str) -> dict:
    matchers = {
        "namespace": settings.kubernetes.namespace,
        "pod": f"{settings.object_name('deployment')}-{POD}",
        **labels,
    }
    return {"series": metric + "{" + ", ".join(f'{k}="{v}"' for k, v in matchers.items()) + "}", "values": values}


def _rising(per_minute: float) -> str:
    return f"0+{per_minute:g}x{SAMPLES}"


def _humanize_duration(value: float) -> str:
    # Prometheus' humanizeDuration below a minute: %.4g seconds, or milliseconds under one second.
    return f"{value:.4g}s" if value >= 1 else f"{value * 1000:.4g}ms"


def _expected(settings, name: str, value: str) -> list[dict]:
    alert = next(a for a in alert_rules.definitions(settings) if a.name == name)
    return [
        {
            "exp_labels": {"alertname": name, **alert_rules.labels(settings, alert)},
            "exp_annotations": alert_rules.annotations(settings, alert, "$value")
            | {
                "description": alert.description.replace("{{ VALUE | humanizeDuration }}", value).replace(
                    "{{ VALUE | humanizePercentage }}", value
                )
            },
        }
    ]


def _checks(settings, name: str, value: str, pending: str, gauge: bool = False) -> list[dict]:
    """Silent a minute before the condition can have held for `for`, firing a minute after it
    surely has. A gauge breaches from the first sample; a rate from its second sample at the
    earliest (one minute), and at the latest once its window is full (extrapolation at a series'
    start reads low, so the minimum-traffic gate may hold it back until then)."""
    earliest, settled = (0, 0) if gauge else (1, seconds(settings.grafana.rate_window) // 60)
    early = f"{earliest + seconds(pending) // 60 - 1}m"
    late = f"{settled + seconds(pending) // 60 + 1}m"
    return [
        {"eval_time": early, "alertname": name, "exp_alerts": []},
        {"eval_time": late, "alertname": name, "exp_alerts": _expected(settings, name, value)},
    ]


def _silent(name: str, pending: str) -> list[dict]:
    # Well past any onset: nothing fired, nothing will.
    return [{"eval_time": f"{SAMPLES - 1}m", "alertname": name, "exp_alerts": []}]


def _latency_cases(settings) -> list[dict]:
    alert = settings.grafana.alerts.db_query_latency_p95
    name, pending = "ReconciliationDbQueryLatencyHigh", alert.for_
    bounds = metrics.DB_QUERY_BUCKETS
    # Every query in the first bucket wholly above the threshold: the p95 is interpolated inside it.
    low, high = next((lo, hi) for lo, hi in itertools.pairwise(bounds) if lo >= alert.threshold)
    fast_rate = alert.min_query_rate * 60 * 2  # per minute: twice the minimum traffic

    def histogram(slowest_bucket: float, per_minute: float) -> list[dict]:
        les = [*(f"{b:g}" for b in bounds), "+Inf"]
        rows = [
            _series(
                settings,
                f"{metrics.DB_QUERY_DURATION}_bucket",
                _rising(per_minute if (le == "+Inf" or float(le) >= slowest_bucket) else 0),
                le=le,
            )
            for le in les
        ]
        return [*rows, _series(settings, f"{metrics.DB_QUERY_DURATION}_count", _rising(per_minute))]

    p95 = low + (high - low) * 0.95
    return [
        {
            "input_series": histogram(high, fast_rate),
            "alert_rule_test": _checks(settings, name, _humanize_duration(p95), pending),
        },
        {"input_series": histogram(bounds[0], fast_rate), "alert_rule_test": _silent(name, pending)},  # fast
        {"input_series": histogram(high, 0), "alert_rule_test": _silent(name, pending)},  # zero traffic
        {  # slow, but below the minimum query rate: a handful of queries at night
            "input_series": histogram(high, alert.min_query_rate * 60 / 2),
            "alert_rule_test": _silent(name, pending),
        },
    ]


def _cache_cases(settings) -> list[dict]:
    alert = settings.grafana.alerts.cache_hit_rate
    name, pending = "ReconciliationCacheHitRateLow", alert.for_
    lookups = alert.min_lookup_rate * 60 * 2
    healthy = (1 + alert.threshold) / 2
    labels = {"cache_level": "redis", "key_type": "account"}
    return [
        {  # only misses: no hits series exists at all, and the rate is 0 %, not nothing
            "input_series": [_series(settings, metrics.CACHE_MISSES, _rising(lookups), **labels)],
            "alert_rule_test": _checks(settings, name, "0%", pending),
        },
        {
            "input_series": [
                _series(settings, metrics.CACHE_HITS, _rising(lookups * healthy), **labels),
                _series(settings, metrics.CACHE_MISSES, _rising(lookups * (1 - healthy)), **labels),
            ],
            "alert_rule_test": _silent(name, pending),
        },
        {  # zero traffic: 0/0 must be no data, never NaN
            "input_series": [
                _series(settings, metrics.CACHE_HITS, _rising(0), **labels),
                _series(settings, metrics.CACHE_MISSES, _rising(0), **labels),
            ],
            "alert_rule_test": _silent(name, pending),
        },
    ]


def _pool_cases(settings) -> list[dict]:
    alert = settings.grafana.alerts.db_pool_utilization
    name, pending = "ReconciliationDbPoolSaturated", alert.for_
    busy = min(100, math.floor(alert.threshold * 100) + 1)

    def pool(active: int) -> list[dict]:
        return [
            _series(settings, metrics.POOL_ACTIVE, f"{active}x{SAMPLES}"),
            _series(settings, metrics.POOL_IDLE, f"{100 - active}x{SAMPLES}"),
            _series(settings, metrics.POOL_TOTAL, f"100x{SAMPLES}"),
        ]

    return [
        {"input_series": pool(busy), "alert_rule_test": _checks(settings, name, f"{busy}%", pending, gauge=True)},
        {"input_series": pool(math.floor(alert.threshold * 100) - 10), "alert_rule_test": _silent(name, pending)},
    ]


def _write(settings, folder: Path) -> tuple[Path, Path]:
    rules = folder / "rules.yaml"
    rules.write_text(yaml.safe_dump(alert_rules.prometheus_rules(settings), sort_keys=False))
    cases = [*_latency_cases(settings), *_cache_cases(settings), *_pool_cases(settings)]
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": settings.grafana.evaluation_interval,
        "tests": [{"interval": "1m", **case} for case in cases],
    }
    test_file = folder / "rules.test.yaml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    return rules, test_file


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_promtool(), *args], cwd=cwd, capture_output=True, text=True, check=False)


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
    rules, test_file = _write(settings, tmp_path)
    document = yaml.safe_load(rules.read_text())
    for rule in document["groups"][0]["rules"]:
        if rule["alert"] == "ReconciliationCacheHitRateLow":
            window = settings.grafana.rate_window
            hits, misses = (f"rate({m}[{window}])" for m in (metrics.CACHE_HITS, metrics.CACHE_MISSES))
            rule["expr"] = f"{hits} / ({hits} + {misses}) < {settings.grafana.alerts.cache_hit_rate.threshold:g}"
    rules.write_text(yaml.safe_dump(document, sort_keys=False))
    completed = _run("test", "rules", test_file.name, cwd=tmp_path)
    assert completed.returncode != 0
    assert "ReconciliationCacheHitRateLow" in completed.stdout + completed.stderr
