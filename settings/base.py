"""Shared pieces of the settings models: strict immutable base and the field types."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainValidator, Strict
from pydantic.alias_generators import to_camel

from settings.quantity import parse_quantity

# RFC 1123 label: what Kubernetes accepts for a namespace name.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# RFC 1035 label: a Service name must also start with a letter.
_DNS_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
# RFC 1123 subdomain: what Kubernetes accepts for the name of a Secret.
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_PERCENT = re.compile(r"(100|[1-9]?[0-9])%")
INT32 = 2**31 - 1
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


class Model(BaseModel):
    """Immutable, camelCase on the wire (as in Kubernetes), and unknown keys are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        validate_by_alias=True,
        validate_by_name=False,
        validate_default=True,
    )


@dataclass(frozen=True)
class Pattern:
    """Text that ``regex`` matches in full; ``allowed`` says what that is, in the error and in the
    settings reference (tools/settings_reference.py)."""

    regex: re.Pattern[str]
    allowed: str

    def __call__(self, value: str) -> str:
        # fullmatch: `$` would also accept a trailing newline, which then lands in a manifest.
        if not self.regex.fullmatch(value):
            raise ValueError(f"expected {self.allowed}")
        return value


def matching(regex: re.Pattern[str], allowed: str) -> AfterValidator:
    return AfterValidator(Pattern(regex, allowed))


def _int_or_percent(value: Any) -> int | str:
    """A whole number from 0 or a percentage from 0% to 100%, such as 1 or 25%."""
    # Plain validator: one clear message instead of one per member of an int | str union, and
    # `true` is refused rather than read as 1.
    whole = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32
    if whole or (isinstance(value, str) and _PERCENT.fullmatch(value)):
        return value
    raise ValueError("expected a whole number >= 0 or a percentage from 0% to 100%, such as 1 or 25%")


def _text(value: Any) -> Any:
    # `pulumi config set --path backend.image.tag 42` stores an integer, and YAML reads an
    # unquoted `cpu: 2` as one: both mean the text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _number_text(value: Any) -> Any:
    # Kubernetes reads a quantity written as a JSON number (`cpu: 0.5`), and so does YAML: accept
    # the number as its shortest exact text, a whole one without `.0` (the Pulumi CLI hands
    # `cpu: 1.0` over as JSON `1`). Never for tags, where `1.40` would silently be `1.4`.
    if isinstance(value, float):
        exact = Decimal(repr(value))
        return format(exact.normalize(), "f") if exact.is_finite() else repr(value)
    return _text(value)


def _int32(value: int) -> int:
    # A validator, not Le(): a field's own le=100 must still apply alongside it.
    if value > INT32:
        raise ValueError(f"expected at most {INT32} (Kubernetes counts are 32-bit)")
    return value


def _cpu(value: str) -> str:
    """A CPU quantity in whole millicores, at least 1m."""
    amount = parse_quantity(value)
    # The API server silently rounds anything finer than a millicore up to 1m.
    if amount < Decimal("0.001") or amount % Decimal("0.001"):
        raise ValueError("expected a CPU quantity in whole millicores, at least 1m, such as 100m, 0.5 or 2")
    return value


@dataclass(frozen=True)
class ByteQuantity:
    """A quantity of whole bytes, at least ``minimum``."""

    minimum: str

    def __call__(self, value: str) -> str:
        amount = parse_quantity(value)
        if amount < parse_quantity(self.minimum) or amount != amount.to_integral_value():
            raise ValueError(
                f"expected whole bytes of at least {self.minimum}, such as 128Mi or 1Gi (a lower-case m means milli)"
            )
        return value


def byte_quantity(minimum: str) -> AfterValidator:
    parse_quantity(minimum)  # a malformed floor fails at import, not at the first stack validated
    return AfterValidator(ByteQuantity(minimum))


@dataclass(frozen=True)
class EachOnce:
    """A list in which no item (by ``key``) appears twice; the error names ``what`` they are."""

    what: str
    key: Callable[[Any], str] = str

    def __call__(self, items: tuple) -> tuple:
        keys = [self.key(item) for item in items]
        if len(keys) != len(set(keys)):
            raise ValueError(f"each {self.what} may appear once, got {', '.join(keys)}")
        return items


def each_once(what: str, key: Callable[[Any], str] = str) -> AfterValidator:
    """A list in which no item (by ``key``) appears twice; the error names ``what`` they are."""
    return AfterValidator(EachOnce(what, key))


# A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters
# (k8s.io/apimachinery validation IsQualifiedName); a value: at most 63, alphanumeric at both ends.
_LABEL_KEY = re.compile(
    r"((?=[^/]{1,253}/)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")

DnsLabel = Annotated[str, matching(_DNS_LABEL, "an RFC 1123 label: lower-case letters, digits and '-', 1-63 chars")]
DnsName = Annotated[
    str, matching(_DNS_NAME, "an RFC 1035 name: a lower-case letter, then letters, digits or '-', 1-63 chars")
]
DnsSubdomain = Annotated[
    str, matching(_DNS_SUBDOMAIN, "an RFC 1123 subdomain: lower-case letters, digits, '-' and '.', 1-253 chars")
]
IntOrPercent = Annotated[int | str, PlainValidator(_int_or_percent)]
# Text that may arrive as a whole number (tags, quantities, env values).
Text = Annotated[str, BeforeValidator(_text)]
# A quantity may also be written as a number, as Kubernetes itself accepts (`cpu: 0.2`).
QuantityText = Annotated[str, BeforeValidator(_number_text)]
CpuQuantity = Annotated[QuantityText, AfterValidator(_cpu)]
Bytes = Annotated[QuantityText, byte_quantity("1Mi")]
MemoryBytes = Annotated[QuantityText, byte_quantity("16Mi")]
# Every count in the Kubernetes API is an int32; `true` is not a count.
Int32 = Annotated[int, Strict(), AfterValidator(_int32)]


def field_by_alias(model: Any, alias: str) -> Any:
    """The pydantic field of ``model`` written as ``alias`` in a stack file, or None."""
    fields = model.model_fields.values() if isinstance(model, type) and issubclass(model, BaseModel) else ()
    return next((f for f in fields if f.alias == alias), None)


def model_in(annotation: Any) -> Any:
    """The settings model a field holds (through ``X | None``), or None for a plain value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_in(arg)
        if found is not None:
            return found
    return None


Email = Annotated[str, matching(_EMAIL, "an e-mail address")]

LabelKey = Annotated[str, matching(_LABEL_KEY, "a label key such as app or app.kubernetes.io/name")]
LabelValue = Annotated[Text, matching(_LABEL_VALUE, "a label value: at most 63 letters, digits, '-', '_' or '.'")]
