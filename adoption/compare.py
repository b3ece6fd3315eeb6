"""Compare a stack's render with the live objects it would adopt, field by field.

    python -m adoption.compare --stack prod --live DIR [--stack-file FILE]

``DIR`` holds what ``kubectl get ... -o yaml --show-managed-fields`` printed (one object, several
documents, or a ``kind: List``). Each rendered object is matched to the live one of the same kind,
namespace and name; fields the API server sets, or defaults and still holds at the default, are
ignored (``adoption.live``). For each object the report says whether the first ``pulumi up`` would
import, create or replace it, and lists every field it changes (``~ path: live -> program``), every
live field a kubectl apply owns that the program does not set (``-``: pulumi-kubernetes takes
kubectl's fields over before its first server-side apply, so they are removed), and every other
live field it leaves as it is (``kept``). A change of an immutable field (a Deployment's selector,
added, removed or changed) is ``REPLACE``: an outage. Exit code 1 for a replace or a problem: an
adopted object that is not live, a live one the stack would create anyway, another live object of
a kind the stack declares, an export without managed fields, or ``spec.replicas`` owned by kubectl.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from adoption import live
from offline import documents
from offline.harness import ROOT, run_stack, to_wire
from review import identity
from settings.quantity import parse_quantity
from settings.stackfile import read_stack_file

# Changes Kubernetes refuses in place, by kind: the object would be deleted and created again.
IMMUTABLE = {"Deployment": ("spec.selector",)}
# Values compared by what they mean, not how they are written: quantities (the API server
# writes `0.5` back as `500m`) and int-or-string ports.
QUANTITY_KEYS = ("cpu", "memory", "ephemeral-storage", "sizeLimit")
PORT_KEYS = ("port", "targetPort", "containerPort")
# The field a kubectl apply may own that the first `up` must not remove: the HPA's pod count.
HANDED_TO_THE_HPA = "spec.replicas"


@dataclass
class Report:
    kind: str
    key: str  # namespace/name, or name
    import_id: str
    live: bool
    changes: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unmanaged: bool = False


def _same(path: str, desired: Any, have: Any) -> bool:
    if desired == have:
        return True
    last = re.split(r"[.\[]", path)[-1]
    if last in PORT_KEYS:
        return str(desired) == str(have)
    if last in QUANTITY_KEYS:
        try:
            return parse_quantity(str(desired)) == parse_quantity(str(have))
        except ValueError:
            return False
    return False


def _item_key(desired: list, have: list) -> str | None:
    """The identity key of both lists' items (review/identity.py); an empty side is none."""
    return identity.item_key(desired, have) if desired and have else None


@dataclass
class _Context:
    report: Report
    immutable: tuple[str, ...]
    owned: set[str] | None  # what kubectl owns (None: unknown)


def _children(desired: Any, have: Any) -> tuple[dict, dict, Any] | None:
    """Both sides as {key: child} with how a key extends the path, when they are containers of one
    shape: maps by key, keyed lists by item name, other lists of one length by position."""
    if isinstance(desired, dict) and isinstance(have, dict):
        return desired, have, live.step
    if isinstance(desired, list) and isinstance(have, list):
        key = _item_key(desired, have)
        if key is not None:
            desired_named, have_named = ({str(item[key]): item for item in side} for side in (desired, have))
            return desired_named, have_named, lambda path, name: f"{path}[{name}]"
        if len(desired) == len(have):
            return dict(enumerate(desired)), dict(enumerate(have)), live.step
    return None


def diff(desired: Any, have: Any, path: str, context: _Context) -> None:
    """Record how ``have`` (live) would change to become ``desired``, and what it keeps."""
    children = _children(desired, have)
    if children is None:
        if not _same(path, desired, have):
            _change(context, path, json.dumps(have, sort_keys=True), desired)
        return
    wanted, present, step = children
    for key in sorted(set(wanted) | set(present), key=lambda k: (str(type(k)), k)):
        where = step(path, key)
        if key not in wanted:
            _keep(present[key], where, context)
        elif key not in present:
            _change(context, where, "(unset)", wanted[key])
        else:
            diff(wanted[key], present[key], where, context)


def _keep(have: Any, path: str, context: _Context) -> None:
    """A live field the program does not set: kept, unless kubectl owns it (the first `up` then
    removes it) or it sits under an immutable field (a replace)."""
    if live.matches(path, live.SERVER_SET) or live.server_default(path, have):
        return
    if isinstance(have, dict) and have:
        for key in sorted(have, key=str):
            _keep(have[key], live.step(path, key), context)
        return
    value = json.dumps(have, sort_keys=True)
    report = context.report
    if live.matches(path, context.immutable):
        report.replaces.append(f"{path}: {value} -> (unset) (immutable: the object is deleted and created again)")
    elif context.owned is not None and live.generic(path) in context.owned:
        report.removed.append(f"{path} = {value}")
        if path == HANDED_TO_THE_HPA:
            report.problems.append(
                f"{path} is owned by kubectl: the first `up` would remove it and the Deployment would drop to 1 "
                "pod; hand it to the HPA first (runbook, step 2)"
            )
    else:
        report.kept.append(f"{path} = {value}")


def _change(context: _Context, path: str, before: str, after: Any) -> None:
    line = f"{path}: {before} -> {json.dumps(after, sort_keys=True)}"
    if live.matches(path, context.immutable):
        context.report.replaces.append(f"{line} (immutable: the object is deleted and created again)")
    else:
        context.report.changes.append(line)


def compare(manifests: list[tuple[dict, str]], exported: dict[tuple[str, str], dict]) -> list[Report]:
    """One report per rendered manifest (with its import ID), then one per unmatched live object."""
    reports, declared = [], {manifest["kind"] for manifest, _ in manifests}
    for manifest, import_id in manifests:
        kind, key = manifest["kind"], live.object_key(manifest)
        have = exported.pop((kind, key), None)
        report = Report(kind, key, import_id, have is not None)
        reports.append(report)
        if have is None:
            if import_id:
                report.problems.append(f"adopted (import {import_id}) but not among the live objects")
            continue
        if not import_id:
            report.problems.append("live already, but not adopted: creating it fails (add it to kubernetes.adopt)")
        if have.get("apiVersion") != manifest["apiVersion"]:
            report.problems.append(
                f"exported as {have.get('apiVersion')}, declared as {manifest['apiVersion']}: export that version "
                "(kubectl get <resource>.<version>.<group>) to compare field by field"
            )
        owned = live.kubectl_owned(have)
        if owned is None and import_id:
            report.problems.append(
                "exported without managed fields: export with --show-managed-fields, or nothing shows which live "
                "fields the first `up` removes"
            )
        desired = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
        have = {k: v for k, v in have.items() if k not in ("apiVersion", "kind")}
        diff(desired, have, "", _Context(report, IMMUTABLE.get(kind, ()), owned))
    for kind, key in sorted(exported):
        report = Report(kind, key, "", True, unmanaged=True)
        if kind in declared:
            # Another object of a kind the stack declares: it would run beside the declared one (a
            # second Deployment, in another namespace or under another name).
            report.problems.append(f"live, but not the {kind} the stack declares: check the stack's names")
        reports.append(report)
    return reports


def format_reports(stack: str, folder: Path, reports: list[Report]) -> str:
    lines = [f"Stack '{stack}' against the live objects in {folder} (server-set fields ignored)", ""]
    actions = {(True, True): "import", (True, False): "import?", (False, True): "exists!", (False, False): "create"}
    for r in reports:
        action = "unmanaged" if r.unmanaged else "REPLACE" if r.replaces else actions[(bool(r.import_id), r.live)]
        lines.append(f"{action:<9} {r.kind} {r.key}" + (f"  (import {r.import_id})" if r.import_id else ""))
        lines += [f"    !! REPLACE {line}" for line in r.replaces]
        lines += [f"    ~ {line}" for line in r.changes]
        lines += [f"    - {line} (owned by kubectl: removed)" for line in r.removed]
        lines += [f"    kept: {line}" for line in r.kept]
        lines += [f"    problem: {line}" for line in r.problems]
    replaced = sum(1 for r in reports if r.replaces)
    problems = sum(len(r.problems) for r in reports)
    changed = sum(1 for r in reports if r.changes or r.removed)
    lines += ["", f"{replaced} replaced, {changed} changed in place, {problems} problems"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adoption.compare", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="prod", help="stack name (default: prod)")
    parser.add_argument("--live", type=Path, required=True, help="folder of `kubectl get -o yaml` exports")
    parser.add_argument("--stack-file", type=Path, help="settings file to use instead of Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    stack_file = args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not args.live.is_dir() or not stack_file.is_file():
        print(f"error: need a folder of live objects and a stack file ({args.live}, {stack_file})", file=sys.stderr)
        return 2
    try:
        result = run_stack(args.stack, *to_wire(read_stack_file(stack_file)))
        exported = live.load(args.live)
    except (pulumi.RunError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    kubernetes = sorted((r for r in result.resources if documents.is_kubernetes(r)), key=documents.manifest_filename)
    reports = compare([(documents.manifest(r), r.import_id) for r in kubernetes], exported)
    print(format_reports(args.stack, args.live, reports), end="")
    return 1 if any(r.replaces or r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
