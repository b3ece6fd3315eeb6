"""The objects' identity settings (settings/objects.py): selector labels, per-object names and
what a stack adopts, through the real program: one exact line, nothing registered."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import problems, run_changed

NS = "reconciliation-platform"


REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "a malformed label key": (
        {"backend.selector": {"-app": "backend"}},
        f'{NS}:backend.selector.-app = "-app": expected a label key such as app or app.kubernetes.io/name',
    ),
    "a malformed label value": (
        {"backend.selector": {"app": "back end"}},
        f'{NS}:backend.selector.app = "back end": expected a label value: at most 63 letters, digits, '
        "'-', '_' or '.'",
    ),
    "an empty selector": (
        {"backend.selector": {}},
        f"{NS}:backend.selector = {{}}: Dictionary should have at least 1 item after validation, not 0",
    ),
    "a Service name that is no DNS label": (
        {"backend.names": {"service": "Backend_API"}},
        f'{NS}:backend.names.service = "Backend_API": expected an RFC 1035 name: a lower-case letter, then letters, '
        "digits or '-', 1-63 chars",
    ),
    "adopting one object twice": (
        {"kubernetes.adopt": ["deployment", "deployment"]},
        f'{NS}:kubernetes.adopt = ["deployment", "deployment"]: each object may appear once, got deployment, '
        "deployment",
    ),
    "adopting something the stack does not have": (
        {"kubernetes.adopt": ["ingress"]},
        f"{NS}:kubernetes.adopt[0] = \"ingress\": Input should be 'namespace', 'serviceAccount', 'deployment', "
        "'service', 'networkPolicy', 'horizontalPodAutoscaler' or 'podDisruptionBudget'",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused(case: str) -> None:
    changes, expected = REFUSED[case]
    assert problems(run_changed("prod", changes)) == [expected]


def test_the_object_keys_are_the_kinds_keys_in_order() -> None:
    from typing import get_args

    from settings.objects import KINDS, ObjectKey

    assert get_args(ObjectKey) == tuple(KINDS)
