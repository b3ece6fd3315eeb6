"""Kubernetes resource quantities (``250m``, ``512Mi``, ``1.5``), parsed for comparison.

The API server rejects a malformed quantity only at apply time, deep inside a rollout; parsing
here lets the settings layer refuse ``500x`` or ``-1Gi`` before anything is registered.
"""

from __future__ import annotations

import re
from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
# The grammar of k8s.io/apimachinery resource.Quantity, without the sign: a quantity that a
# container requests can never be negative.
# The exponent is capped at two digits: nothing a pod requests is near 1e100, and Decimal
# arithmetic on such numbers would overflow rather than fail cleanly.
_PATTERN = re.compile(
    r"(?P<number>[0-9]{1,19}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]{1,2})?"
)

_LARGEST = Decimal(8 * 2**60)  # about int64's limit, as the API server stores quantities
QUANTITY_HINT = "a non-negative Kubernetes quantity such as 250m, 0.5, 512Mi or 1Gi"


def parse_quantity(text: object) -> Decimal:
    """Return the value of a quantity in base units; raise ValueError when it is malformed (or not text)."""
    # fullmatch, no strip: the text is written to the manifest as given, so it must be exact.
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected {QUANTITY_HINT}")
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        value = number * _BINARY[suffix]
    elif suffix[:1] in ("e", "E"):
        value = number.scaleb(int(suffix[1:]))
    else:
        value = number * _DECIMAL[suffix]
    if value > _LARGEST:
        raise ValueError(f"expected {QUANTITY_HINT}, at most 8Ei")
    return value
