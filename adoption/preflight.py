"""Which of the Kubernetes objects a render declares already exist: the adoption pre-flight.

    python -m adoption.preflight [--stack prod] [--render DIR] [--context CTX] [--export DIR | --print]

Reads every Kubernetes object of a render (``plan.json`` of ``build/render/<stack>``, written by
``offline.render``: kind, API version, namespace, name, and the import ID of an adopted one), asks
the cluster for each (``kubectl get <kind>.<version>.<group>/<name> --ignore-not-found -o name``)
and prints, per object, what the first ``pulumi up`` does with it and what to do first:

- ``adopt``: listed in ``kubernetes.adopt`` and live: imported (``= import``);
- ``create``: not live: created;
- ``EXISTS``: live, but the stack would create it. Since pulumi-kubernetes 4.29 a create uses
  client-side create and fails with AlreadyExists instead of taking the object over
  (pulumi/pulumi-kubernetes#4278, "Use client-side create to prevent silent upsert of existing
  objects"), midway through the ``up``. The line says whether ``kubernetes.adopt`` covers it or it
  must be deleted (an ExternalSecret with ``--cascade=orphan``) or renamed first;
- ``MISSING``: adopted, but not live: the import fails;
- ``ERROR``: kubectl could not answer (no such resource type: the operator's CRDs are missing).

Exit code 1 when any object is ``EXISTS``, ``MISSING`` or ``ERROR``. ``--export DIR`` also writes
each live object there with its managed fields (``adoption.compare``'s input, and the rollback's
backup). ``--print`` prints the kubectl commands instead of running them (nothing contacted). The
list comes from the render, never from this file, so a new object of the program is checked without
a change here.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from offline import render
from offline.harness import ROOT
from settings.objects import KINDS

# The component whose objects `kubernetes.adopt` names (by the keys of settings.objects.KINDS);
# other objects (the secrets sync's, the PodMonitor) cannot be adopted and must not exist.
ADOPTABLE_PARENT = "reconciliation:backend:BackendService::"
ADOPT_KEYS = {kind: key for key, kind in KINDS.items()}


@dataclass(frozen=True)
class RenderedObject:
    kind: str
    api_version: str
    namespace: str | None
    name: str
    import_id: str | None
    adopt_key: str | None  # the `kubernetes.adopt` entry that would adopt it, if any

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def resource(self) -> str:
        """kubectl's fully qualified `<kind>.<version>.<group>`: no short name can be ambiguous
        (another operator's ExternalSecret, a second PodMonitor CRD)."""
        group, _, version = self.api_version.rpartition("/")
        return f"{self.kind.lower()}.{version}.{group}" if group else self.kind.lower()


def objects(render_dir: Path) -> list[RenderedObject]:
    """The Kubernetes objects of a render, in the order ``plan.json`` lists them."""
    plan = json.loads((render_dir / render.PLAN).read_text(encoding="utf-8"))
    found = []
    for resource in plan["resources"]:
        if not resource["type"].startswith("kubernetes:"):
            continue
        inputs = resource["inputs"]
        metadata = inputs.get("metadata") or {}
        adoptable = str(resource.get("parent", "")).startswith(ADOPTABLE_PARENT)
        found.append(
            RenderedObject(
                kind=inputs["kind"],
                api_version=inputs["apiVersion"],
                namespace=metadata.get("namespace"),
                name=metadata["name"],
                import_id=resource.get("import"),
                adopt_key=ADOPT_KEYS.get(inputs["kind"]) if adoptable else None,
            )
        )
    return found


def command(item: RenderedObject, context: str | None, export: bool = False) -> list[str]:
    """`kubectl get` for one object: its name if it exists, nothing if not; with ``export``, the
    whole object with its managed fields (what adoption.compare needs, hidden by default)."""
    args = ["kubectl", *(["--context", context] if context else [])]
    args += ["-n", item.namespace] if item.namespace else []
    output = ["-o", "yaml", "--show-managed-fields"] if export else ["-o", "name"]
    return [*args, "get", f"{item.resource}/{item.name}", "--ignore-not-found", *output]


def verdict(item: RenderedObject, live: bool) -> tuple[str, str]:
    """(status, what to do) for an object that is or is not live."""
    if item.import_id:
        if live:
            return "adopt", f"imported as {item.import_id}"
        return "MISSING", f"remove {item.adopt_key} from kubernetes.adopt: there is nothing to import"
    if not live:
        return "create", "created by the first `up`"
    if item.adopt_key:
        return "EXISTS", f"add {item.adopt_key} to kubernetes.adopt (or delete it first)"
    if item.kind == "ExternalSecret":
        return "EXISTS", (
            "kubernetes.adopt does not cover it: check its Secret's ownerReferences, then just before "
            f"`pulumi up`: kubectl -n {item.namespace} delete externalsecret/{item.name} --cascade=orphan"
        )
    return "EXISTS", "kubernetes.adopt does not cover it: delete or rename it just before `pulumi up`"


Runner = Callable[..., subprocess.CompletedProcess]


def check(
    items: list[RenderedObject], context: str | None, run: Runner = subprocess.run, export: Path | None = None
) -> tuple[list[str], bool]:
    """One report line per object, and whether the `up` can start as things are. With ``export``,
    each live object is also written there, ``<kind>-<namespace>-<name>.yaml``."""
    lines, ok = [], True
    for item in items:
        answer = run(command(item, context, export is not None), capture_output=True, text=True, check=False)
        if answer.returncode == 0 and export is not None and answer.stdout.strip():
            export.mkdir(parents=True, exist_ok=True)
            (export / f"{item.kind.lower()}-{item.key.replace('/', '-')}.yaml").write_text(answer.stdout)
        if answer.returncode != 0:
            status = "ERROR"
            advice = (answer.stderr.strip().splitlines() or ["kubectl failed"])[0]
        else:
            status, advice = verdict(item, bool(answer.stdout.strip()))
        ok = ok and status in ("adopt", "create")
        lines.append(f"{status:<8} {item.kind} {item.key}: {advice}")
    return lines, ok


def main(argv: list[str] | None = None, run: Runner = subprocess.run) -> int:
    parser = argparse.ArgumentParser(prog="python -m adoption.preflight", description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="prod", help="the stack whose render is read (default: prod)")
    parser.add_argument("--render", type=Path, help="the render folder (default: build/render/<stack>)")
    parser.add_argument("--context", help="kubectl context (default: kubectl's current one)")
    parser.add_argument("--print", action="store_true", help="print the kubectl commands, run nothing")
    parser.add_argument("--export", type=Path, help="also write each live object there (for adoption.compare)")
    args = parser.parse_args(argv)
    folder = args.render or ROOT / "build" / "render" / args.stack
    if not (folder / render.PLAN).is_file():
        print(f"error: no render in {folder}: run ./tasks.sh render {args.stack} first", file=sys.stderr)
        return 2
    items = objects(folder)
    if args.print:
        for item in items:
            print(shlex.join(command(item, args.context)))
        return 0
    lines, ok = check(items, args.context, run, args.export)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
