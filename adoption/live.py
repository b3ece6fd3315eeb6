"""Live objects as `kubectl get -o yaml --show-managed-fields` exports them, and what of them the
API server owns, defaults, or a `kubectl apply` set.

Used by ``adoption.compare``: the render is compared with these, field by field.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from offline.yaml_reader import load_yaml_all

# Fields the API server owns: never a difference the program makes. `[*]` is any list item.
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
    # Allocated by the API server; the program never sets them and tells Pulumi to ignore them.
    "spec.clusterIP",
    "spec.clusterIPs",
    "spec.ipFamilies",
)
# Fields the API server fills in with a default: ignored only while they hold that default, so
# a live object that set them otherwise (`runAsUser: 0`) still shows.
SERVER_DEFAULTS = {
    "spec.template.spec.dnsPolicy": "ClusterFirst",
    "spec.template.spec.restartPolicy": "Always",
    "spec.template.spec.schedulerName": "default-scheduler",
    "spec.template.spec.securityContext": {},
    "spec.template.spec.containers[*].terminationMessagePath": "/dev/termination-log",
    "spec.template.spec.containers[*].terminationMessagePolicy": "File",
    "spec.ipFamilyPolicy": "SingleStack",
    "spec.internalTrafficPolicy": "Cluster",
    "spec.sessionAffinity": "None",
    "*.httpGet.scheme": "HTTP",
    "*.successThreshold": 1,
}
# Field managers whose fields pulumi-kubernetes takes over before its first server-side apply
# (its `fixCSAFieldManagers`): a field they set that the program does not is then removed.
KUBECTL_MANAGER = re.compile(r"kubectl")


class LiveError(ValueError):
    """The export cannot be read as Kubernetes objects."""


def load(folder: Path) -> dict[tuple[str, str], dict]:
    """Every object in the YAML or JSON files of ``folder``, by (kind, namespace/name)."""
    found: dict[tuple[str, str], dict] = {}
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json")):
        try:
            documents = load_yaml_all(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise LiveError(f"{path}: not YAML: {error}") from error
        for document in documents:
            items = document.get("items") if isinstance(document, dict) and document.get("kind") == "List" else None
            for item in items if isinstance(items, list) else [document]:
                if item is None:
                    continue
                if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict) or "kind" not in item:
                    raise LiveError(f"{path}: an item is not a Kubernetes object (kind and metadata)")
                key = (item["kind"], object_key(item))
                if key in found:
                    raise LiveError(f"{path}: {key[0]} {key[1]} is exported twice")
                found[key] = item
    return found


def object_key(manifest: dict) -> str:
    metadata = manifest.get("metadata") or {}
    namespace = metadata.get("namespace")
    return f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))


def step(path: str, key: Any) -> str:
    """``path`` one level down: `.key`, `[index]`, `[item-key]` or `["odd.key"]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def generic(path: str) -> str:
    return re.sub(r"\[[^\]]*\]", "[*]", path)


def matches(path: str, patterns: Any) -> bool:
    """Whether ``path`` is one of ``patterns`` (or below one); `*.x` matches any path ending in x."""
    return any(
        path.endswith(p[1:]) if p.startswith("*.") else c == p or c.startswith((p + ".", p + "["))
        for p in patterns
        for c in (path, generic(path))
    )


def server_default(path: str, value: Any) -> bool:
    return any(matches(path, (pattern,)) and value == default for pattern, default in SERVER_DEFAULTS.items())


def kubectl_owned(live: dict) -> set[str] | None:
    """Paths (in ``step`` form, list items generic) of fields only kubectl managers own: the ones
    the first `up` removes when the program does not set them. A field another manager co-owns
    (the HPA's replicas, a hand-over manager) stays. None when the export has no managed fields
    (kubectl omits them unless asked)."""
    managed = (live.get("metadata") or {}).get("managedFields")
    if not managed:
        return None
    kubectl: set[str] = set()
    others: set[str] = set()
    for entry in managed:
        owner = kubectl if KUBECTL_MANAGER.match(str(entry.get("manager", ""))) else others
        _walk_fields(entry.get("fieldsV1") or {}, "", owner)
    return kubectl - others


def _walk_fields(fields: dict, path: str, owned: set[str]) -> None:
    for key, below in fields.items():
        if key == ".":
            continue
        if key.startswith("f:"):
            where = step(path, key[2:])
        elif key.startswith(("k:", "v:")):
            where = f"{path}[*]"
        else:
            continue
        owned.add(generic(where))
        if isinstance(below, dict):
            _walk_fields(below, where, owned)


# What a live object carries that a replace must not send back: the API server's bookkeeping.
BOOKKEEPING = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


def restorable(item: dict) -> dict:
    """The exported object as `kubectl replace` takes it back: bookkeeping and status removed,
    everything else (allocated cluster IPs included, which a Service keeps) as it was."""
    metadata = {k: v for k, v in item["metadata"].items() if k not in BOOKKEEPING}
    return {**{k: v for k, v in item.items() if k != "status"}, "metadata": metadata}


def main(argv: list[str] | None = None) -> int:
    """``python -m adoption.live EXPORT_DIR OUT_DIR``: write each exported object, restorable,
    to ``OUT_DIR/<kind>-<name>.yaml`` (the adoption runbook's rollback)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not Path(args[0]).is_dir():
        print("usage: python -m adoption.live EXPORT_DIR OUT_DIR (EXPORT_DIR: a folder of exports)", file=sys.stderr)
        return 2
    try:
        objects = load(Path(args[0]))
    except (LiveError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args[1])
    out.mkdir(parents=True, exist_ok=True)
    for (kind, key), item in sorted(objects.items()):
        path = out / f"{kind.lower()}-{key.replace('/', '-')}.yaml"
        path.write_text(yaml.safe_dump(restorable(item), sort_keys=False))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
