"""The settings reference (tools/settings_reference.py): docs/settings.md generated from the models, every
field described, defaults and bounds as the models hold them, the keys as error messages name them,
and a stale document failing the check."""

from __future__ import annotations

import re
from typing import Annotated, Any

import annotated_types
import pytest
import yaml
from helpers import validated
from pydantic import BaseModel, Field, TypeAdapter
from test_docs_links import anchors

from offline.harness import PROJECT
from settings.base import model_in
from settings.report import reference
from settings.rules import RULES
from settings.stack import StackSettings
from tools import settings_reference

BOUNDS = {annotated_types.Ge: ">=", annotated_types.Gt: ">", annotated_types.Le: "<=", annotated_types.Lt: "<"}


def _models(model: type[BaseModel] = StackSettings, seen: set | None = None) -> list[type[BaseModel]]:
    """Every settings model under ``model``, each once, found through the fields' annotations."""
    seen = set() if seen is None else seen
    if model not in seen:
        seen.add(model)
        for field in model.model_fields.values():
            if (inner := model_in(field.annotation)) is not None:
                _models(inner, seen)
    return sorted(seen, key=lambda found: found.__name__)


def _rows() -> dict[str, dict[str, str]]:
    """The committed document's rows by key: {key: {"type": ..., "default": ..., "allowed": ...}}."""
    rows = {}
    for line in settings_reference.OUT.read_text().splitlines():
        if line.startswith(f"| `{PROJECT}:"):
            cells = [cell.strip().replace(r"\|", "|") for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0].strip("`")] = dict(zip(("type", "default", "allowed", "description"), cells[1:], strict=True))
    return rows


def test_the_committed_settings_reference_is_generated_from_the_models() -> None:
    assert settings_reference.main(["--check"]) == 0, "run ./tasks.sh docs"


@pytest.mark.parametrize("model", _models(), ids=lambda model: model.__name__)
def test_every_field_of_every_settings_model_has_a_description(model: type[BaseModel]) -> None:
    undescribed = [name for name, field in model.model_fields.items() if not (field.description or "").strip()]
    assert undescribed == [], f"give {model.__name__}'s fields a Field(description=...): {', '.join(undescribed)}"


def test_the_walk_reaches_every_model_and_every_key_is_a_row() -> None:
    assert len(_models()) > 30  # the walk above proves nothing if it stops at the top
    every = {key.name for key in settings_reference.stack_keys()}
    assert set(_rows()) == every
    assert f"{PROJECT}:backend.resources.limits.cpu" in every
    assert f"{PROJECT}:secrets.inventory[].rotationDays" in every


def test_every_rule_is_listed_with_a_one_line_summary() -> None:
    listed = {(rule.module, rule.name): rule for rule in settings_reference.rules()}
    text = settings_reference.OUT.read_text()
    for paths, check in RULES:
        summary = (check.__doc__ or "").strip().splitlines()[0] if check.__doc__ else ""
        assert summary.endswith("."), f"{check.__module__}.{check.__name__} needs a docstring: one line, a sentence"
        rule = listed[(check.__module__.rsplit(".", 1)[1], check.__name__)]
        assert set(paths) <= set(rule.paths)
        assert f"| `{check.__name__}` |" in text


@pytest.mark.parametrize(
    "key", [key for key in settings_reference.stack_keys() if not key.field.is_required()], ids=lambda key: key.dotted
)
def test_each_documented_default_reads_back_as_the_models_default(key: Any) -> None:
    field, cell = key.field, _rows()[key.name]["default"]
    default = field.get_default(call_default_factory=True)
    if default is None:
        assert cell == "unset"
    elif cell == "its keys' defaults":
        assert default == type(default)()
    else:
        # Written in a stack file as the document shows it, the value validates to the default.
        written = yaml.safe_load(cell.removeprefix("`").removesuffix("`"))
        annotation = field.annotation
        if field.metadata:
            annotation = Annotated[annotation, *field.metadata]
        adapter = TypeAdapter(annotation)
        assert adapter.validate_python(written) == default


@pytest.mark.parametrize(
    "key",
    [key for key in settings_reference.stack_keys() if any(type(m) in BOUNDS for m in key.field.metadata)],
    ids=lambda key: key.dotted,
)
def test_each_documented_bound_is_the_models(key: Any) -> None:
    bounds = {}
    for item in key.field.metadata:
        if type(item) in BOUNDS:
            bounds[BOUNDS[type(item)]] = getattr(item, type(item).__name__.lower())
    allowed = _rows()[key.name]["allowed"]
    if ">=" in bounds and "<=" in bounds:
        assert f"from {bounds['>=']!r} to {bounds['<=']!r}" in allowed
    else:
        assert all(f"{sign} {value!r}" in allowed for sign, value in bounds.items()), allowed


def test_literal_members_are_the_allowed_values() -> None:
    rows = _rows()
    assert rows[f"{PROJECT}:backend.image.pullPolicy"]["allowed"] == "one of `Always`, `IfNotPresent`"
    assert "`3653`" in rows[f"{PROJECT}:secrets.logRetentionDays"]["allowed"]


@pytest.mark.parametrize(
    "changes",
    [
        {"backend.resources.limits.cpu": "0.1m"},
        {"secrets.inventory": [{"name": "lower"}]},
        {"grafana.alerts.cacheHitRate.for": "5 minutes"},
        {"backend.autoscaling.behavior.scaleUp.policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_every_key_an_error_names_is_a_documented_key(changes: dict) -> None:
    _, problems = validated("dev", changes)
    named = {re.sub(r"\[\d+\]", "[]", line.split(" = ")[0]) for line in problems}
    assert named, "the change must be refused"
    assert named <= set(_rows()), problems


def test_a_mapping_error_points_at_the_section_of_its_key() -> None:
    _, problems = validated("dev", {"backend.probes": 5})
    assert problems == [f"{PROJECT}:backend.probes = 5: expected a mapping of keys (see {reference('backend')})"]
    sections = [heading for heading, _ in settings_reference.sections()][1:]
    assert sections == [field.alias for field in StackSettings.model_fields.values() if model_in(field.annotation)]
    for heading in sections:
        assert reference(heading).split("#")[1] in anchors(settings_reference.OUT)


def test_a_changed_description_makes_the_check_fail_and_name_the_file(monkeypatch, capsys) -> None:
    committed = settings_reference.OUT.read_text()
    field = StackSettings.model_fields["production"]
    monkeypatch.setattr(field, "description", f"{field.description} Planted.")
    assert settings_reference.main(["--check"]) == 1
    assert capsys.readouterr().err == "error: docs/settings.md is stale: run ./tasks.sh docs\n"
    assert settings_reference.OUT.read_text() == committed  # a check never writes


def test_a_new_field_is_documented_from_the_model_and_the_check_fails(tmp_path, monkeypatch, capsys) -> None:
    class Planted(StackSettings):
        extra_knob: int = Field(3, ge=1, le=9, strict=True, description="A planted knob.")

    stale = tmp_path / "settings.md"
    stale.write_text(settings_reference.OUT.read_text())
    monkeypatch.setattr(settings_reference, "MODEL", Planted)
    monkeypatch.setattr(settings_reference, "OUT", stale)
    assert settings_reference.main(["--check"]) == 1
    assert capsys.readouterr().err == f"error: {stale} is stale: run ./tasks.sh docs\n"
    assert f"| `{PROJECT}:extraKnob` | integer | `3` | from 1 to 9 | A planted knob. |" in settings_reference.render()
    assert settings_reference.main([]) == 0
    assert settings_reference.main(["--check"]) == 0


def test_a_field_without_a_description_stops_the_generator(monkeypatch) -> None:
    class Planted(StackSettings):
        extra_knob: int = 3

    monkeypatch.setattr(settings_reference, "MODEL", Planted)
    with pytest.raises(ValueError, match=f"{PROJECT}:extraKnob has no description"):
        settings_reference.render()


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("1h", "1h"),
        ("25%", "25%"),
        ("", '""'),
        ("1.33", '"1.33"'),
        ("true", '"true"'),
        ("a, b", '"a, b"'),
        ({"app": "backend", "tier": None}, "{app: backend, tier: null}"),
        ([1, 0.5, False], "[1, 0.5, false]"),
    ],
)
def test_defaults_are_written_as_yaml_reads_them_back(value: Any, written: str) -> None:
    assert settings_reference.flow_yaml(value) == written
    assert yaml.safe_load(written) == value
