"""Stack files read the way the Pulumi CLI reads them, and config handed over the way it does.

PyYAML speaks YAML 1.1; Pulumi (Go) reads YAML 1.2. The loader here uses the 1.2 core schema,
so `tag: 2024-01-02` stays text, `1:00` is not sixty and `yes` is not true, and it refuses a
duplicate key, which PyYAML would resolve silently by keeping the last one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from settings.paths import ROOT
from settings.report import validate
from settings.stack import StackSettings

# What an offline run passes for a `secure:` value it cannot decrypt; always marked secret.
SECRET_PLACEHOLDER = "offline-placeholder-secret\n(the offline render cannot decrypt secure values)"


if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader  # what both classes offer
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


class _CoreLoader(_SafeLoader):
    """YAML 1.2 core schema: null, bool, int and float resolve as Go's YAML does; the rest is text."""

    # Replaced wholesale below, not extended. A class attribute in PyYAML; types-PyYAML declares it
    # an instance variable.
    yaml_implicit_resolvers: ClassVar[dict] = {}  # type: ignore[misc]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Hashable, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the parent's construct_mapping refuses it, at its line
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "first written", seen[key], f"duplicate key {key!r}", key_node.start_mark
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", "~nN"),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
        "-+0123456789.",
    ),
):
    _CoreLoader.add_implicit_resolver(
        _tag, re.compile(f"^(?:{_pattern})$"), list(_first) + ([""] if _tag.endswith("null") else [])
    )


def _construct_int(loader: _CoreLoader, node: yaml.ScalarNode) -> int:
    # 1.2 core: 012 is twelve (PyYAML's 1.1 constructor would read octal ten).
    text = loader.construct_scalar(node)
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


_CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def read_stack_file(path: Path) -> dict:
    """The ``config:`` mapping of a stack file; when it is not one, a one-line ValueError that
    starts with the file and the place in it, ``<file>:<line>:<column>:`` as compilers write it."""
    return parse_stack_file(path, path.read_bytes())


def parse_stack_file(path: Path, raw: bytes) -> dict:
    """``read_stack_file`` of ``path`` holding ``raw``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        where = _place(path, raw, error.start)
        raise ValueError(f"{where}: {_INVALID}: not UTF-8 text (byte 0x{raw[error.start]:02x})") from None
    try:
        document = yaml.load(text, Loader=_CoreLoader) or {}
    except yaml.YAMLError as error:
        raise ValueError(_yaml_problem(path, raw, error)) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config or {}, dict):
        raise ValueError(f"{shown(path)}: `config:` must be a mapping of keys to values")
    return config or {}


_INVALID = "not a valid YAML stack file"


def shown(path: Path) -> str:
    """The file as the person running the command names it: relative to where they are, if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _place(path: Path, raw: bytes, offset: int) -> str:
    *lines, last = raw[:offset].split(b"\n")
    return f"{shown(path)}:{len(lines) + 1}:{len(last.decode('utf-8', errors='replace')) + 1}"


def _yaml_problem(path: Path, raw: bytes, error: yaml.YAMLError) -> str:
    """PyYAML's message on one line, its locations in this file: PyYAML's own names the text it
    was given (`in "<unicode string>"`) on lines of their own."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        message = f"{shown(path)}:{mark.line + 1}:{mark.column + 1}: {_INVALID}: {error.problem}"
        if error.context and error.context_mark is not None:
            context = error.context_mark
            message += f" ({error.context} at line {context.line + 1}, column {context.column + 1})"
        return message + (f"; {error.note}" if error.note else "")
    if isinstance(error, yaml.reader.ReaderError):
        # libyaml counts the position in bytes of the UTF-8 text.
        character = error.character if isinstance(error.character, int) else ord(error.character)
        return f"{_place(path, raw, error.position)}: {_INVALID}: character #x{character:04x}: {error.reason}"
    return f"{shown(path)}: {_INVALID}: " + " ".join(str(error).replace('"<unicode string>"', f'"{path}"').split())


def to_wire(document: dict, project: str) -> tuple[dict[str, str], list[str]]:
    """Config as the CLI passes it: namespaced keys, text values (objects as JSON), secret keys."""
    config, secret_keys = {}, []
    for key, written in document.items():
        full_key = key if ":" in key else f"{project}:{key}"
        value, secret = strip_secure(written)
        if secret:
            secret_keys.append(full_key)
        if isinstance(value, bool):
            config[full_key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            config[full_key] = json.dumps(value)
        else:
            config[full_key] = "" if value is None else str(value)
    return config, secret_keys


def project_values(document: dict, project: str) -> tuple[dict[str, Any], set[str]]:
    """The project's keys as written (objects stay objects) and which are secret: what the pure
    settings layer validates without a Pulumi run. A `secure:` value becomes the placeholder."""
    prefix = f"{project}:"
    values, secret_keys = {}, set()
    for key, written in document.items():
        if key.startswith(prefix):
            values[key.removeprefix(prefix)], secret = strip_secure(written)
            if secret:
                secret_keys.add(key.removeprefix(prefix))
    return values, secret_keys


def strip_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        return SECRET_PLACEHOLDER, True
    if isinstance(value, dict):
        pairs = {k: strip_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [strip_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


# Pulumi.yaml's name: the project every config key is prefixed with.
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"]


def stack_names(root: Path = ROOT) -> list[str]:
    """Every stack with a settings file: a new Pulumi.<stack>.yaml is picked up with no code."""
    return sorted(path.name.split(".")[1] for path in root.glob("Pulumi.*.yaml"))


def load_stack(stack: str, root: Path | None = None) -> StackSettings:
    """The stack file through the settings layer, without Pulumi: its validated settings, or a
    ValueError naming the stacks there are, or every problem, one per line."""
    root = root or ROOT
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise ValueError(f"no stack '{stack}' (no {path.name} in {root}); the stacks are: {known}")
    return validated(read_stack_file(path), stack)


def validated(document: dict, stack: str) -> StackSettings:
    """A stack file's ``config:`` mapping through the settings layer: the validated settings, or a
    ValueError with every problem, one per line."""
    values, secret_keys = project_values(document, PROJECT)
    settings, problems = validate(values, secret_keys, PROJECT, stack)
    if problems:
        raise ValueError(f"Pulumi.{stack}.yaml is invalid:\n" + "\n".join(problems))
    assert settings is not None  # validate returns None only with problems
    return settings
