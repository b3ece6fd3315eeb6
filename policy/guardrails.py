"""Rules the program's settings and its policy pack judge by alike, written once.

Dependency-free on purpose: the policy pack runs in its own environment (policy/venv, without the
program's packages) and is published as this folder alone, so the shared rules live here and the
program imports them as ``policy.guardrails``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple


def count_of(value: int | str, total: int, round_up: bool) -> int:
    """An int-or-percent (``2`` or ``"25%"``) as a count of ``total`` replicas.

    Rounded the way the controllers round (k8s.io/apimachinery intstr.GetScaledValueFromIntOrPercent):
    up for a PodDisruptionBudget's ``minAvailable``/``maxUnavailable`` and a rolling update's
    ``maxSurge``, down for its ``maxUnavailable``. Integer arithmetic, so 1000 replicas stay exact.
    """
    if isinstance(value, int):
        return value
    scaled = int(value.removesuffix("%")) * total
    return -(-scaled // 100) if round_up else scaled // 100


class Grant(NamedTuple):
    """One statement of an identity policy that grants more than it names."""

    statement: str  # "statement 0" or "statement 0 (Sid)"
    kind: str  # "resource" or "action"
    problem: str

    def __str__(self) -> str:
        return f"{self.statement} {self.problem}"


def statements(document: Any) -> list[Mapping]:
    """The statements of a policy document, given as a mapping or as its JSON text."""
    if isinstance(document, str):
        document = json.loads(document)
    found = (document or {}).get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def broad_grants(document: Any) -> list[Grant]:
    """What least privilege refuses in an identity policy (one attached to a principal).

    An allowing statement may not name a bare ``*`` resource, leave its resources out, or use
    ``NotResource`` (everything but a list: as broad as ``*``); nor a ``*`` or ``service:*``
    action, or ``NotAction``. Deny statements narrow and are never refused. Resource policies (a
    KMS key's, where ``"Resource": "*"`` means this key) are not identity policies.
    """
    found = []
    for index, statement in enumerate(statements(document)):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        sid = statement.get("Sid")
        where = f"statement {index}" + (f" ({sid})" if sid else "")
        resources = _listed(statement.get("Resource"))
        if "NotResource" in statement:
            found.append(Grant(where, "resource", "allows NotResource, as broad as '*'"))
        elif "*" in resources:
            found.append(Grant(where, "resource", "allows a bare '*' resource"))
        elif not resources:
            found.append(Grant(where, "resource", "names no resource"))
        if "NotAction" in statement:
            found.append(Grant(where, "action", "allows NotAction, as broad as '*'"))
        wild = [action for action in _listed(statement.get("Action")) if action == "*" or action.endswith(":*")]
        if wild:
            found.append(Grant(where, "action", f"allows the wildcard action {', '.join(wild)}"))
    return found
