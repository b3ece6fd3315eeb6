"""Render a stack offline: run the real program under mocks and write what it would send.

    python -m offline.render [--stack dev] [--out build/render/<stack>]
    python -m offline.render --stacks dev prod [--out build/render]   (each into <out>/<stack>)

Writes ``kubernetes/*.yaml`` (kubectl-ready, Helm install order), ``resources/*.json`` (every
other resource: providers, cloud resources), ``grafana/dashboard.json`` (importable as it is),
``grafana/rule-group.json``, ``prometheus/rules.yaml`` (the same alerts for promtool),
``outputs.json``, ``summary.txt`` and ``plan.json`` (every resource, for ``review.diff``), and
prints the summary. Same commit and stack,
byte-identical files. A config error prints only the validation messages and exits 2.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi

from capacity import cost
from components.aws import secrets_inventory
from components.grafana import alert_rules
from offline import documents
from offline.harness import (
    PROJECT,
    ROOT,
    Registration,
    RunResult,
    run_stack,
    stack_names,
    to_wire,
)
from settings.stackfile import read_stack_file

MARKER = ".offline-render"
PLAN = "plan.json"
DASHBOARD = "grafana:oss/dashboard:Dashboard"
RULE_GROUP = "grafana:alerting/ruleGroup:RuleGroup"
GENERATED = ("grafana", "prometheus")


def write(result: RunResult, out: Path) -> list[Path]:
    """Replace a previous render in ``out``; return the files written, sorted.

    ``out`` must be new, empty, or a previous render (it carries a marker file): a mistaken
    ``--out`` pointing at anything else is refused rather than overwritten.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ValueError(f"--out {out} is not empty and holds no previous render ({MARKER}); choose another folder")
    for folder in ("kubernetes", "resources", *GENERATED):
        shutil.rmtree(out / folder, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("Written by `python -m offline.render`; the folder is replaced on each render.\n")
    written = []
    for resource in result.resources:
        if documents.is_kubernetes(resource):
            path = out / "kubernetes" / documents.manifest_filename(resource)
            text = documents.to_yaml(documents.manifest(resource))
        elif resource.custom:
            path = out / "resources" / documents.resource_filename(resource)
            text = documents.to_json(_describe(resource))
        else:
            continue  # components have no inputs of their own; the summary shows them
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for name, text in _observability_files(result).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    outputs = {name: ("<secret>" if o.secret else o.value) for name, o in result.outputs.items()}
    files = (("outputs.json", documents.to_json(outputs)), ("summary.txt", summary(result)), (PLAN, plan(result)))
    for name, text in files:
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return sorted(written)


def plan(result: RunResult) -> str:
    """Every resource the stack declares, machine-readable: what `review.diff` compares."""
    resources = [
        # A provider reference is `<urn>::<id>`; the id is the mock's, so only the URN is kept.
        {**_describe(resource), "provider": _short(resource.provider.rsplit("::", 1)[0])}
        for resource in sorted(result.resources, key=lambda r: (r.type, r.name))
    ]
    document = {"project": PROJECT, "stack": result.stack, "resources": resources}
    if result.settings is not None:
        document["capacity"] = cost.reservation(result.settings)
    return documents.to_json(document)


def _observability_files(result: RunResult) -> dict[str, str]:
    """The dashboard as Grafana imports it, the rule group, and the Prometheus twin of the rules."""
    files = {}
    for resource in result.by_type(DASHBOARD):
        files["grafana/dashboard.json"] = documents.to_json(json.loads(resource.inputs["configJson"]))
    for resource in result.by_type(RULE_GROUP):
        files["grafana/rule-group.json"] = documents.to_json(_describe(resource)["inputs"])
    if result.settings is not None:
        files["prometheus/rules.yaml"] = documents.to_yaml(alert_rules.prometheus_rules(result.settings))
    return files


def _describe(resource: Registration) -> dict:
    return {
        "type": resource.type,
        "name": resource.name,
        "parent": _short(resource.parent),
        "protect": resource.protect,
        "import": resource.import_id or None,
        # What it waits for: the order a preview would create things in.
        "dependsOn": [_short(urn) for urn in resource.depends_on],
        "inputs": {key: _readable(value) for key, value in resource.inputs.items()},
    }


def _readable(value: Any) -> Any:
    """A JSON document sent as a string (an IAM policy, a provider's list) shown as the object
    it is, so a reviewer reads statements, not escaped quotes."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, dict):  # an alert rule's query model, nested in its rule
        return {key: _readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


def _short(urn: str) -> str:
    """`type::name` of a URN: the parent as a reviewer reads it in a preview."""
    if not urn:
        return ""
    kind, name = urn.split("::")[-2:]
    return f"{kind.split('$')[-1]}::{name}"


def _named(resource: Registration) -> str:
    """The Pulumi name, and for a Kubernetes object the name it has in the cluster (its own
    `metadata`, which the settings may make differ from the Pulumi name)."""
    if not documents.is_kubernetes(resource):
        return resource.name
    return f"{resource.name} ({documents.object_name(resource)})"


def summary(result: RunResult) -> str:
    """A tree shaped like `pulumi preview`, then the adopted objects' IDs, diagnostics, outputs,
    capacity, and counts per type."""
    stack_urn = f"urn:pulumi:{result.stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{result.stack}"
    children: dict[str, list[Registration]] = {}
    for resource in result.resources:
        children.setdefault(resource.parent or stack_urn, []).append(resource)
    rows = [("+", "pulumi:pulumi:Stack", f"{PROJECT}-{result.stack}", "")]
    adopted: list[Registration] = []

    # The tree is the parent: no column repeats it. An import's ID (an ARN can be 100 characters)
    # is listed under the tree, so a row stays readable in a terminal.
    def walk(urn: str, prefix: str) -> None:
        kids = sorted(children.get(urn, []), key=lambda r: (r.type, r.name))
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            notes = [*(["import"] if kid.import_id else []), *(["protected"] if kid.protect else [])]
            # `=` marks an import, as `pulumi preview` does; everything else would be created.
            mark = "=" if kid.import_id else "+"
            rows.append((mark, f"{prefix}{'└─ ' if last else '├─ '}{kid.type}", _named(kid), ", ".join(notes)))
            if kid.import_id:
                adopted.append(kid)
            walk(kid.urn, prefix + ("   " if last else "│  "))

    walk(stack_urn, "")
    header = ("", "Type", "Name (Kubernetes objects: namespace/name)", "Info")
    width = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = [
        f"Offline preview of stack '{result.stack}' (mock runtime: no cloud, no CLI, nothing contacted)",
        "",
        *(f" {m:1}   {t:<{width[1]}}  {n:<{width[2]}}  {i}".rstrip() for m, t, n, i in [header, *rows]),
    ]
    if adopted:
        label = [f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in adopted]
        column = max(map(len, label))
        lines += ["", "Imports (the live object each `=` row adopts):"]
        lines += [f"    {name:<{column}}  {r.import_id}" for name, r in zip(label, adopted, strict=True)]
    if result.warnings:
        lines += ["", "Diagnostics:", *(f"    warning: {message}" for message in result.warnings)]
    note = secrets_inventory.automated_rotation_note(result.settings) if result.settings is not None else []
    if note:
        lines += ["", note[0], *(f"    {line}" for line in note[1:])]
    lines += ["", "Outputs:"]
    for name, output in result.outputs.items():
        shown = "[secret]" if output.secret else documents.to_json(output.value).strip()
        lines.append(f"    {name}: {shown}")
    if result.settings is not None:
        lines += ["", "Capacity (requests reserved):", *cost.describe(cost.reservation(result.settings))]
    counts = Counter(r.type for r in result.resources)
    imports = sum(1 for r in result.resources if r.import_id)
    lines += ["", "Resources:", f"    + {len(result.resources) + 1 - imports} to create"]
    if imports:
        lines.append(f"    = {imports} to import (then updated to the program's inputs)")
    lines += [f"      {count} {kind}" for kind, count in sorted(counts.items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.render", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: renders Pulumi.<stack>.yaml (default: dev)")
    parser.add_argument(
        "--stacks", nargs="+", metavar="STACK", help="several stacks in one process, each into <out>/<stack>"
    )
    parser.add_argument("--out", type=Path, help="output folder (default: build/render/<stack>)")
    parser.add_argument(
        "--stack-file", type=Path, help="settings file to use instead of Pulumi.<stack>.yaml (to try a change)"
    )
    args = parser.parse_args(argv)
    if args.stacks and args.stack_file:
        parser.error("--stack-file renders one stack: give it with --stack")
    if args.stacks:
        out = args.out or ROOT / "build" / "render"
        return max(_render(stack, None, out / stack) for stack in args.stacks)
    return _render(args.stack, args.stack_file, args.out or ROOT / "build" / "render" / args.stack)


def _render(stack: str, given: Path | None, out: Path) -> int:
    """Render ``stack`` (from ``given``, else its stack file) into ``out``: 0, or 2 on an error."""
    stack_file = given or ROOT / f"Pulumi.{stack}.yaml"
    if given is None and not stack_file.is_file():
        known = ", ".join(stack_names()) or "none"
        print(f"error: no stack '{stack}' (no {stack_file.name} in {ROOT}); the stacks are: {known}", file=sys.stderr)
        return 2
    if not stack_file.is_file():
        print(f"error: --stack-file {stack_file} is not a file", file=sys.stderr)
        return 2
    try:
        result = run_stack(stack, *to_wire(read_stack_file(stack_file)))
    except (pulumi.RunError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        files = write(result, out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary(result), end="")
    print(f"\nWrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
