"""How list items are matched between two versions of an object: by identity, as `kubectl diff`
matches them with Kubernetes' strategic merge keys and as each resource names its own parts, so
an item added at the top is one addition, not a chain of renames.

Shared by the plan diff (``review.diff``) and the live comparison (``adoption.compare``).
"""

from __future__ import annotations

import json
from typing import Any

# The first of these that every item of a list carries, with distinct values, names its items:
# `uid` (Grafana alert rules), `name` (containers, env, ports, volumes: the `patchMergeKey` of
# k8s.io/api core/v1 types.go), `mountPath` (volume mounts, whose volume name may repeat),
# `secretKey` (an ExternalSecret's data), `Sid` (IAM statements), `title` (dashboard panels),
# `refId` (a panel's targets and a rule's queries), `topologyKey` (spread constraints),
# `containerPort`/`port` (unnamed ports), `key` (tolerations, key-to-path items).
ITEM_KEYS = (
    "uid",
    "name",
    "mountPath",
    "secretKey",
    "Sid",
    "title",
    "refId",
    "topologyKey",
    "containerPort",
    "port",
    "key",
)
# Lists whose order the API reads. env: k8s.io/api core/v1 types.go, EnvVar.Value, "references
# $(VAR_NAME) are expanded using the previously defined environment variables in the container",
# so moving a variable can change another's value. command and args run in their order.
ORDERED = ("env", "command", "args")


def item_key(*sides: list) -> str | None:
    """The identifying key of every item of the non-empty ``sides``, distinct within each; None
    when the items are not objects or share no such key."""
    filled = [side for side in sides if side]
    items = [item for side in filled for item in side]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in ITEM_KEYS:
        if all(key in item for item in items) and all(
            len({json.dumps(item[key], sort_keys=True) for item in side}) == len(side) for side in filled
        ):
            return key
    return None


# Lists of plain values that their API reads as sets: IAM's actions and resources (the policy
# grammar's Action/Resource are unordered), Kubernetes' matchLabelKeys and a dashboard's tags.
SETS = ("Action", "NotAction", "Resource", "NotResource", "matchLabelKeys", "tags")


def is_set(field: str, *sides: list) -> bool:
    """Whether the lists are one of SETS, of plain values, no item twice on either side."""
    items = [item for side in sides for item in side]
    plain = all(isinstance(item, (str, int, float, bool)) for item in items)
    return bool(items) and plain and field in SETS and all(len(set(side)) == len(side) for side in sides)


def label(value: Any) -> str:
    """An item's identity as a path segment: bare when it reads plainly, else quoted."""
    text = value if isinstance(value, str) else json.dumps(value)
    plain = text and all(ch.isalnum() or ch in "_.-/:" for ch in text)
    return f"[{text}]" if plain else f"[{json.dumps(text)}]"
