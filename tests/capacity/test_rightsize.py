"""The rightsizing recommendation as a user reads it, computed by hand: the explanation's percentile,
sample count, window and targets, and what the change reserves at maxReplicas, on both sides of a
change and of the window's rounding; the stack-file edit with quoted, flow-style and commented
values."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers import valid_settings, validated

from capacity import __main__ as cli
from capacity import rightsize
from capacity.recorded import Usage, percentile
from settings.quantity import parse_quantity
from settings.stackfile import PROJECT

MIB = 1024 * 1024


def _settings(cpu: str, memory: str, cpu_target: int = 60, memory_target: int = 80, min_samples: int = 2):
    """prod with explicit inputs of the hand computations (its other settings do not enter them)."""
    settings, problems = validated(
        "prod",
        {
            "backend.resources.requests.cpu": cpu,
            "backend.resources.requests.memory": memory,
            "backend.resources.limits.cpu": "2",
            "backend.resources.limits.memory": "2Gi",
            "backend.autoscaling.minReplicas": 2,
            "backend.autoscaling.maxReplicas": 10,
            "backend.autoscaling.targetCpuUtilization": cpu_target,
            "backend.autoscaling.targetMemoryUtilization": memory_target,
            "capacity.rightsizing": {"cpuPercentile": 0.95, "memoryHeadroom": 0.15, "minSamples": min_samples},
        },
    )
    assert problems == []
    return settings


def _usage(times: list[float], cores: float, mib: float, pods: int = 2) -> Usage:
    names = [f"backend-5d8f7c9b4-{i}" for i in range(pods)]
    return Usage(
        list(times), [dict.fromkeys(names, cores)] * len(times), [dict.fromkeys(names, mib * MIB)] * len(times)
    )


HOUR = [15.0 * i for i in range(241)]  # 241 samples 15 s apart: exactly 1 h from the first to the last


def test_a_recommendation_says_what_it_is_drawn_from_and_what_it_reserves() -> None:
    """2 pods x 241 samples over 1 h at 120m and 200 MiB; requests 100m and 128Mi, 10 replicas at most.
    CPU: p95 = 120m, / 60 % = 200m: +100m x 10 = +1 core. Memory: 200 / 0.8 = 250Mi (over +15 % =
    230Mi): +122Mi x 10 = 1220Mi = +1.19 GiB."""
    cpu, memory = rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.12, 200))
    assert cpu == rightsize.Recommendation(
        "cpu",
        "100m",
        "200m",
        "p95 of 482 per-pod samples over 1.0 h / the 60% target, rounded up to 10m",
        "+1 cores",
    )
    assert memory == rightsize.Recommendation(
        "memory",
        "128Mi",
        "250Mi",
        "peak working set of 482 per-pod samples over 1.0 h + 15% headroom, at most 80% of the request",
        "+1.19 GiB",
    )


def test_a_smaller_recommendation_frees_what_it_no_longer_reserves() -> None:
    """The same usage against 300m and 512Mi: -100m x 10 = -1 core; -262Mi x 10 = -2620Mi = -2.56 GiB."""
    cpu, memory = rightsize.recommend(_settings("300m", "512Mi"), _usage(HOUR, 0.12, 200))
    assert (cpu.recommended, cpu.reserved_change_at_max) == ("200m", "-1 cores")
    assert (memory.recommended, memory.reserved_change_at_max) == ("250Mi", "-2.56 GiB")
    # Unchanged requests reserve nothing more.
    cpu, memory = rightsize.recommend(_settings("200m", "250Mi"), _usage(HOUR, 0.12, 200))
    assert (cpu.reserved_change_at_max, memory.reserved_change_at_max) == ("+0 cores", "+0.00 GiB")


def test_the_window_is_the_first_to_the_last_sample_in_tenths_of_an_hour() -> None:
    """180 s is 0.05 h, shown as 0.1 h; 165 s (one sample less) 0.0 h; 179.97 s just under the
    rounding point 0.0 h, 180.02 s just over it 0.1 h."""

    def window(times: list[float]) -> str:
        cpu, _ = rightsize.recommend(_settings("100m", "128Mi"), _usage(times, 0.12, 200))
        return cpu.explanation.split(" over ")[1].split(" / ")[0]

    steps = [15.0 * i for i in range(13)]  # 0 .. 180 s
    assert window(steps) == "0.1 h"
    assert window(steps[:-1]) == "0.0 h"
    assert window([*steps[:-1], 179.97]) == "0.0 h"
    assert window([*steps[:-1], 180.02]) == "0.1 h"
    # From the first sample, not the second: starting at 15 s the same 180 s end is 165 s long.
    assert window(steps[1:]) == "0.0 h"


def test_an_idle_backend_still_gets_the_10m_floor() -> None:
    """No CPU at all (0 cores in every sample): 0m would be refused by the settings, 10m is the floor."""
    cpu, _ = rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.0, 200))
    assert cpu.recommended == "10m"


def test_memory_is_rounded_up_to_a_whole_mebibyte_and_no_further() -> None:
    """200 MiB / 0.8 is 250Mi exactly: 250Mi, not 251Mi; 200.08 MiB / 0.8 = 250.1: 251Mi."""
    _, memory = rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.12, 200))
    assert memory.recommended == "250Mi"
    _, memory = rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.12, 200.08))
    assert memory.recommended == "251Mi"


def test_the_sample_minimum_counts_the_scarcer_resource() -> None:
    """A CPU series longer than the memory one: the memory samples decide (2 pods x 3 = 6 < 7)."""
    usage = _usage([0.0, 15.0, 30.0], 0.12, 200)
    longer = Usage(usage.times, [*usage.cpu, *usage.cpu], usage.memory)
    assert rightsize.recommend(_settings("100m", "128Mi", min_samples=6), longer)
    with pytest.raises(ValueError, match=r"^too little data to recommend from: 6 per-pod samples over 0\.0 h, "):
        rightsize.recommend(_settings("100m", "128Mi", min_samples=7), longer)


def _stack_file(tmp_path: Path, requests: str) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(f"config:\n  {PROJECT}:backend:\n    resources:\n{requests}")
    return path


def _write(path: Path, cpu: str = "250m", memory: str = "300Mi") -> str:
    recommendations = [
        rightsize.Recommendation("cpu", "", cpu, "", ""),
        rightsize.Recommendation("memory", "", memory, "", ""),
    ]
    rightsize.write(path, recommendations, PROJECT, lambda: None)
    return path.read_text()


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # Block style, a comment after a value.
        (
            "      requests:\n        cpu: 200m  # p95 last week\n        memory: 256Mi\n",
            "      requests:\n        cpu: 250m  # p95 last week\n        memory: 300Mi\n",
        ),
        # Quoted values keep their quotes, double or single.
        (
            "      requests:\n        cpu: \"200m\"\n        memory: '256Mi'\n",
            "      requests:\n        cpu: \"250m\"\n        memory: '300Mi'\n",
        ),
        # Flow style: the value ends at the comma or the closing brace; a longer value first on the
        # line must not move the second (a real bug: the second was looked up where it had been).
        (
            "      requests: {cpu: 200m, memory: 256Mi}\n",
            "      requests: {cpu: 250m, memory: 300Mi}\n",
        ),
        (
            "      requests: {memory: '256Mi', cpu: \"200m\"}\n",
            "      requests: {memory: '300Mi', cpu: \"250m\"}\n",
        ),
        (
            "      requests: {cpu: 1, memory: 256Mi}\n",
            "      requests: {cpu: 250m, memory: 300Mi}\n",
        ),
    ],
    ids=["block-commented", "quoted", "flow", "flow-quoted", "flow-number"],
)
def test_write_replaces_each_value_where_it_stands(tmp_path: Path, before: str, after: str) -> None:
    path = _stack_file(tmp_path, before)
    header = path.read_text()[: -len(before)]
    assert _write(path) == header + after


def test_a_quoted_value_ends_at_its_closing_quote_not_a_comma_inside() -> None:
    assert rightsize._scalar_text("'2,5' # x") == "'2,5'"
    assert rightsize._scalar_text('"a"b') == '"a"'
    assert rightsize._scalar_text("'' # empty") == "''"  # the closing quote right after the opening one
    assert rightsize._scalar_text("'unclosed") == "'unclosed"  # no closing quote: the rest of the line
    assert rightsize._scalar_text("200m]") == "200m"
    assert rightsize._scalar_text("200m   \n") == "200m"
    assert rightsize._scalar_text("200m#not-a-comment") == "200m#not-a-comment"  # YAML needs a space before #


def test_write_refuses_a_file_without_the_requests(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(f"config:\n  {PROJECT}:backend:\n    port: 8080\n")
    with pytest.raises(ValueError, match=r"^Pulumi\.test\.yaml sets no backend\.resources\.requests to update$"):
        _write(path)
    # `resources:` with nothing under it is null: no mapping to look the requests up in.
    path.write_text(f"config:\n  {PROJECT}:backend:\n    resources:\n")
    with pytest.raises(ValueError, match=r"^Pulumi\.test\.yaml sets no backend\.resources\.requests to update$"):
        _write(path)
    path = _stack_file(tmp_path, "      requests:\n        cpu: 200m\n")
    with pytest.raises(ValueError, match=r"sets no backend\.resources\.requests\.memory to update$"):
        _write(path)


def test_write_on_each_stack_file_takes_a_longer_cpu_value_before_the_memory_one(stack: str, tmp_path: Path) -> None:
    """The stack files write the requests as one flow mapping: a CPU value growing a digit (100m ->
    1000m) used to shift the memory value, and --write refused the file ("would change more than
    the requests"). Every line but the requests' is the original's; the requests parse to the new
    values, ephemeral storage unchanged."""
    from ruamel.yaml import YAML

    from capacity import __main__ as cli

    source = cli.ROOT / f"Pulumi.{stack}.yaml"
    path = tmp_path / source.name
    path.write_text(source.read_text())
    requests = validated(stack)[0].backend.resources.requests
    cpu = f"{round(float(parse_quantity(requests.cpu)) * 1000) * 10}m"  # one digit longer
    memory = f"{round(float(parse_quantity(requests.memory)) / MIB) + 1}Mi"
    written = _write(path, cpu, memory)
    before, after = source.read_text().splitlines(), written.splitlines()
    assert len(before) == len(after)
    changed = [i for i, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    parsed = YAML().load(written)["config"][f"{PROJECT}:backend"]["resources"]["requests"]
    assert {parsed.lc.value(key)[0] for key in ("cpu", "memory")} == set(changed)
    assert (parsed["cpu"], parsed["memory"]) == (cpu, memory)
    assert parsed["ephemeralStorage"] == requests.ephemeral_storage


def test_the_reserved_memory_is_counted_in_gibibytes_of_1024_mebibytes() -> None:
    """616 MiB / 0.8 = 770Mi against 128Mi: +642Mi x 10 = 6420Mi = 6.269 GiB, shown +6.27 GiB (a
    divisor of 1023 or 1025 would show +6.28 or +6.26)."""
    _, memory = rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.12, 616))
    assert (memory.recommended, memory.reserved_change_at_max) == ("770Mi", "+6.27 GiB")


def test_a_value_written_across_lines_is_refused_naming_its_line(tmp_path: Path) -> None:
    """A folded scalar (`cpu: >-` and the value on the next line) is not where ruamel's parser
    places it: refused, naming the line as an editor counts it (the fifth), the file untouched."""
    requests = "      requests:\n        cpu: >-\n          200m\n        memory: 256Mi\n"
    path = _stack_file(tmp_path, requests)
    original = path.read_text()
    with pytest.raises(ValueError, match=r"^cannot find the value of requests\.cpu in line 5 of Pulumi\.test\.yaml$"):
        _write(path)
    assert path.read_text() == original
    # And in the sixth line (an even line: the line count is added, not merely made odd).
    requests = "      requests:\n        cpu: 200m\n        memory: >-\n          256Mi\n"
    path = _stack_file(tmp_path, requests)
    with pytest.raises(
        ValueError, match=r"^cannot find the value of requests\.memory in line 6 of Pulumi\.test\.yaml$"
    ):
        _write(path)


def test_a_tagged_value_is_refused_not_rewritten(tmp_path: Path) -> None:
    """`cpu: !!str 200m`: the text from the value's column is the tag and the value, which is not
    the plain string the parser holds (a tagged scalar): refused, the tag never silently dropped."""
    path = _stack_file(tmp_path, "      requests:\n        cpu: !!str 200m\n        memory: 256Mi\n")
    with pytest.raises(ValueError, match=r"^cannot find the value of requests\.cpu in line 5 of Pulumi\.test\.yaml$"):
        _write(path)


def test_a_value_that_would_add_yaml_is_refused(tmp_path: Path) -> None:
    """write() takes any recommendation: a value that edits more than itself (a key slipped into the
    flow mapping) is refused and the file left as it was."""
    path = _stack_file(tmp_path, "      requests: {cpu: 200m, memory: 256Mi}\n")
    original = path.read_text()
    with pytest.raises(ValueError, match=r"^editing Pulumi\.test\.yaml in place would change more than the requests$"):
        _write(path, cpu="250m, ephemeralStorage: 1Gi")
    assert path.read_text() == original


def test_a_recommendation_is_a_value() -> None:
    """Frozen (dataclasses: frozen=True makes instances immutable and, with eq, hashable): a table
    or a comparison of runs can never see a recommendation change after it was made."""
    recommendation = rightsize.Recommendation("cpu", "100m", "200m", "why", "+1 cores")
    assert recommendation in {rightsize.Recommendation("cpu", "100m", "200m", "why", "+1 cores")}
    with pytest.raises(AttributeError):
        recommendation.recommended = "300m"  # type: ignore[misc]  # what frozen=True refuses, on purpose


def test_a_request_off_the_round_units_is_counted_exactly() -> None:
    """Requests 150m and 500M (500,000,000 bytes = 476.84 MiB, not 476): +50m x 10 = +0.5 core, not
    a whole core or none; 770Mi - 476.84Mi = 293.16Mi x 10 = 2931.6Mi = 2.863 GiB, shown +2.86 GiB
    (476 whole MiB would show +2.87)."""
    cpu, memory = rightsize.recommend(_settings("150m", "500M"), _usage(HOUR, 0.12, 616))
    assert (cpu.recommended, cpu.reserved_change_at_max) == ("200m", "+0.5 cores")
    assert (memory.recommended, memory.reserved_change_at_max) == ("770Mi", "+2.86 GiB")


def test_float_noise_is_ignored_but_a_real_excess_rounds_up() -> None:
    """The tolerance is a millionth of the rounding unit, on both sides. CPU over a 60 % target:
    60.0000024m is 10.0000004 tens of millicores (noise): 100m; 60.000024m is 10.000004: 110m.
    Memory: a peak of 212,231,783 bytes over 80 % is 265,289,728.75 bytes, 253 MiB and 0.75 byte
    (0.7 millionths of a MiB): 254Mi, never 253Mi below the peak over the target."""
    assert rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.0600000024, 200))[0].recommended == "100m"
    assert rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.060000024, 200))[0].recommended == "110m"
    peak = 212_231_783 / MIB  # in MiB, exactly (a power of two apart)
    assert rightsize.recommend(_settings("100m", "128Mi"), _usage(HOUR, 0.12, peak))[1].recommended == "254Mi"


def _usage_every_15s(cpu_cores: Sequence[float], memory_bytes: Sequence[float], pods: int = 2) -> Usage:
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
    cpu, memory = rightsize.recommend(valid_settings("prod", _rules(cpu_target, memory_target, min_samples)), usage)
    return cpu.recommended, memory.recommended


def test_rightsizing_divides_by_the_targets() -> None:
    # 2 pods x 240 samples of a steady 120m and 200 MiB.
    usage = _usage_every_15s([0.12] * 240, [200 * MIB] * 240)
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
    assert _recommended(70, 80, _usage_every_15s([0.07] * 240, memory))[0] == "100m"
    assert _recommended(70, 80, _usage_every_15s([0.14] * 240, memory))[0] == "200m"
    # A millicore-thousandth above 100m rounds up to the next 10m.
    assert _recommended(70, 80, _usage_every_15s([0.070001] * 240, memory))[0] == "110m"
    assert _recommended(60, 80, _usage_every_15s([0.0723] * 240, memory))[0] == "130m"  # 120.5m
    # Near idle: never below 10m.
    assert _recommended(70, 80, _usage_every_15s([0.0001] * 240, memory))[0] == "10m"


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
    usage = _usage_every_15s([0.01 * v for v in range(1, 11)], [100 * MIB] * 10)
    assert _recommended(50, 80, usage, min_samples=20)[0] == "200m"
    usage = _usage_every_15s([0.01 * v for v in range(1, 10)] + [0.5], [100 * MIB] * 10, pods=1)
    # One pod, 10 samples: ceil(9.5) = 10th, the 500m outlier: 1000m over 50 %.
    assert _recommended(50, 80, usage, min_samples=10)[0] == "1000m"


def test_rightsizing_needs_min_samples() -> None:
    usage = _usage_every_15s([0.1] * 240, [100 * MIB] * 240)  # 480 per-pod samples
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
