"""Compare a stack's render with the live objects it would adopt, field by field.

    python -m offline.compare --stack prod --live DIR [--stack-file FILE]

``DIR`` holds what ``kubectl get ... -o yaml`` printed (one object, several documents, or a
``kind: List``). Each rendered object is matched to the live one of the same kind, namespace and
name; fields the API server sets or defaults are ignored. For each object the report says whether
the first ``pulumi up`` would import it, create it or replace it, and lists every field it would
change (``~ path: live -> program``) and every live field it leaves as it is (``kept``). A change
that makes Kubernetes or the provider replace the object (an immutable selector, a name) is marked
``REPLACE``: that is an outage, and the exit code is 1. So is an adopted object that is not live,
or a live one the stack would create anyway (the create fails: it exists).
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
import yaml

from offline import documents
from offline.harness import ROOT, read_stack_file, run_stack, to_wire
from settings.quantity import parse_quantity

# Fields the API server owns or fills in: never a difference the program makes. `*` is any
# list index or map key.
SERVER_SET = (
    "status",
    "metadata.uid",
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.creationTimestamp",
    "metadata.managedFields",
    "metadata.selfLink",
    'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
    'metadata.annotations["deployment.kubernetes.io/revision"]',
    'metadata.labels["kubernetes.io/metadata.name"]',
    "spec.finalizers",
    "spec.template.metadata.creationTimestamp",
    "spec.template.spec.dnsPolicy",
    "spec.template.spec.restartPolicy",
    "spec.template.spec.schedulerName",
    "spec.template.spec.securityContext",
    "spec.template.spec.containers[*].terminationMessagePath",
    "spec.template.spec.containers[*].terminationMessagePolicy",
    "spec.clusterIP",
    "spec.clusterIPs",
    "spec.ipFamilies",
    "spec.ipFamilyPolicy",
    "spec.internalTrafficPolicy",
    "spec.sessionAffinity",
    # Defaults the API server writes into every probe.
    "*.httpGet.scheme",
    "*.successThreshold",
)
# Changes Kubernetes refuses in place (or the provider replaces on), by kind: the object would be
# deleted and created again.
IMMUTABLE = {"Deployment": ("spec.selector",), "Service": ("spec.clusterIP",)}


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
    unmanaged: bool = False


def load_live(folder: Path) -> dict[tuple[str, str], dict]:
    """Every object in the YAML or JSON files of ``folder``, by (kind, namespace/name)."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            items = document.get("items", []) if isinstance(document, dict) and document.get("kind") == "List" else []
            for item in items or ([document] if isinstance(document, dict) else []):
                found[(item.get("kind", ""), _key(item))] = item
    return found


def _key(manifest: dict) -> str:
    metadata = manifest.get("metadata", {})
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    generic = re.sub(r"\[[^\]]*\]", "[*]", path)
    return any(
        path.endswith(p[1:]) if p.startswith("*.") else c == p or c.startswith((p + ".", p + "["))
        for p in patterns
        for c in (path, generic)
    )


def _step(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _same(desired: Any, live: Any) -> bool:
    if desired == live:
        return True
    # Quantities and int-or-strings: the API server rewrites `0.5` as `500m`, `8000` as 8000.
    try:
        return parse_quantity(str(desired)) == parse_quantity(str(live))
    except ValueError:
        return str(desired) == str(live)


def _by_name(items: list) -> dict | None:
    """Containers, ports, env and volumes by their names, when every item has a distinct one."""
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    if not items or None in names or len(set(names)) != len(items):
        return None
    return dict(zip(names, items, strict=True))


def diff(desired: Any, live: Any, path: str, report: Report, immutable: tuple[str, ...]) -> None:
    """Record in ``report`` how ``live`` would change to become ``desired``, and what it keeps."""
    if isinstance(desired, dict) and isinstance(live, dict):
        for key in sorted(set(desired) | set(live), key=str):
            where = _step(path, key)
            if key not in desired:
                _keep(live[key], where, report)
            elif key not in live:
                _change(report, where, "(unset)", desired[key], immutable)
            else:
                diff(desired[key], live[key], where, report, immutable)
        return
    if isinstance(desired, list) and isinstance(live, list):
        named_desired, named_live = _by_name(desired), _by_name(live)
        if named_desired is not None and named_live is not None and set(named_desired) == set(named_live):
            for name in named_desired:
                diff(named_desired[name], named_live[name], f"{path}[{name}]", report, immutable)
            return
        if len(desired) == len(live):
            for index, (want, have) in enumerate(zip(desired, live, strict=True)):
                diff(want, have, _step(path, index), report, immutable)
            return
    if not _same(desired, live):
        _change(report, path, json.dumps(live, sort_keys=True), desired, immutable)


def _keep(live: Any, path: str, report: Report) -> None:
    """Record what the program does not set and the server did not default: it stays as it is."""
    if _matches(path, SERVER_SET):
        return
    if isinstance(live, dict) and live:
        for key in sorted(live, key=str):
            _keep(live[key], _step(path, key), report)
    else:
        report.kept.append(f"{path} = {json.dumps(live, sort_keys=True)}")


def _change(report: Report, path: str, before: str, after: Any, immutable: tuple[str, ...]) -> None:
    line = f"{path}: {before} -> {json.dumps(after, sort_keys=True)}"
    if _matches(path, immutable):
        report.replaces.append(f"{line} (immutable: the object is deleted and created again)")
    else:
        report.changes.append(line)


def compare(manifests: list[tuple[dict, str]], live: dict[tuple[str, str], dict]) -> list[Report]:
    """One report per rendered manifest (with its import ID), then one per unmatched live object."""
    reports = []
    for manifest, import_id in manifests:
        kind, key = manifest["kind"], _key(manifest)
        have = live.pop((kind, key), None)
        report = Report(kind, key, import_id, have is not None)
        if have is None and import_id:
            report.problems.append(f"adopted (import {import_id}) but not among the live objects")
        elif have is not None and not import_id:
            report.problems.append("live already, but not adopted: creating it fails (add it to kubernetes.adopt)")
        if have is not None:
            desired = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
            have = {k: v for k, v in have.items() if k not in ("apiVersion", "kind")}
            diff(desired, have, "", report, IMMUTABLE.get(kind, ()))
        reports.append(report)
    # Exported but not declared: informational, the program never touches them.
    reports += [Report(kind, key, "", True, unmanaged=True) for kind, key in sorted(live)]
    return reports


def format_reports(stack: str, folder: Path, reports: list[Report]) -> str:
    lines = [f"Stack '{stack}' against the live objects in {folder} (server-set fields ignored)", ""]
    actions = {(True, True): "import", (True, False): "import?", (False, True): "exists!", (False, False): "create"}
    for r in reports:
        action = "unmanaged" if r.unmanaged else "REPLACE" if r.replaces else actions[(bool(r.import_id), r.live)]
        lines.append(f"{action:<9} {r.kind} {r.key}" + (f"  (import {r.import_id})" if r.import_id else ""))
        lines += [f"    !! REPLACE {line}" for line in r.replaces]
        lines += [f"    ~ {line}" for line in r.changes]
        lines += [f"    kept: {line}" for line in r.kept]
        lines += [f"    problem: {line}" for line in r.problems]
    replaced = sum(1 for r in reports if r.replaces)
    problems = sum(len(r.problems) for r in reports)
    changed = sum(1 for r in reports if r.changes)
    lines += ["", f"{replaced} replaced, {changed} changed in place, {problems} problems"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.compare", description=__doc__.split("\n")[0])
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
        live = load_live(args.live)
    except (pulumi.RunError, ValueError, yaml.YAMLError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    kubernetes = sorted((r for r in result.resources if documents.is_kubernetes(r)), key=documents.manifest_filename)
    manifests = [(documents.manifest(r), r.import_id) for r in kubernetes]
    reports = compare(manifests, live)
    print(format_reports(args.stack, args.live, reports), end="")
    return 1 if any(r.replaces or r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
