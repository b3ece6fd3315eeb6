"""Shared pieces of the settings models: strict immutable base, field types, cross-field rules."""

from __future__ import annotations

import re
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from settings.quantity import parse_quantity

# RFC 1123 label: what Kubernetes accepts for namespace, Service and Deployment names.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PERCENT = re.compile(r"^(100|[1-9]?[0-9])%$")


class Problem(NamedTuple):
    """One broken rule: where (path below the model that found it), the value, what is allowed."""

    path: tuple[str, ...]
    value: Any
    allowed: str


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

    def problems(self) -> list[Problem]:
        """Cross-field rules of this model; override where fields constrain each other."""
        return []

    @model_validator(mode="after")
    def _check_rules(self) -> Model:
        found = self.problems()
        if found:
            # Every broken rule is carried in ctx so the error report lists each on its own line.
            raise PydanticCustomError("cross_field", "cross-field rules", {"problems": found})
        return self


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError("expected an RFC 1123 label: lower-case letters, digits and '-', 1-63 chars")
    return value


def _quantity(value: str) -> str:
    parse_quantity(value)
    return value


def _int_or_percent(value: int | str) -> int | str:
    if isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise ValueError("expected a non-negative integer or a percentage such as 25%")
    if isinstance(value, str) and not _PERCENT.match(value):
        raise ValueError("expected a non-negative integer or a percentage from 0% to 100%")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Quantity = Annotated[str, AfterValidator(_quantity)]
IntOrPercent = Annotated[int | str, AfterValidator(_int_or_percent)]


def is_zero(value: int | str) -> bool:
    """True for 0 and 0%: the values that forbid any disruption."""
    return value in (0, "0%")


def count_of(value: int | str, total: int, round_up: bool) -> int:
    """Resolve an int-or-percent against a replica count the way the controllers do."""
    if isinstance(value, int):
        return value
    scaled = int(value[:-1]) * total
    return -(-scaled // 100) if round_up else scaled // 100
