"""Settings of the pod itself: image, resources, probes, security, termination."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from settings.base import Model, Problem, Quantity
from settings.quantity import parse_quantity

_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _pattern(regex: re.Pattern[str], allowed: str):
    def check(value: str) -> str:
        if not regex.match(value):
            raise ValueError(f"expected {allowed}")
        return value

    return AfterValidator(check)


class Image(Model):
    repository: Annotated[str, _pattern(_REPOSITORY, "an image repository such as ghcr.io/acme/app")]
    tag: Annotated[str, _pattern(_TAG, "an image tag such as 1.4.2")] | None = None
    digest: Annotated[str, _pattern(_DIGEST, "a digest such as sha256:<64 hex digits>")] | None = None
    # Always costs one registry round-trip per pod start and guarantees a re-pushed tag is
    # never served stale from a node's cache; IfNotPresent is safe only for a digest.
    pull_policy: Literal["Always", "IfNotPresent"] = "Always"

    @property
    def reference(self) -> str:
        ref = self.repository + (f":{self.tag}" if self.tag else "")
        return ref + (f"@{self.digest}" if self.digest else "")

    @property
    def version(self) -> str:
        """What app.kubernetes.io/version shows: the tag, else the digest's short form.

        Cut to a valid label value (63 chars, alphanumeric at both ends), as tags may be longer.
        """
        return (self.tag or self.digest.removeprefix("sha256:")[:12])[:63].strip("._-")

    def problems(self) -> list[Problem]:
        if self.tag is None and self.digest is None:
            return [Problem(("tag",), None, "set image.tag or image.digest (an untagged image is :latest)")]
        if self.pull_policy == "IfNotPresent" and self.digest is None:
            return [
                Problem(
                    ("pullPolicy",),
                    self.pull_policy,
                    "IfNotPresent needs image.digest (a tag can be re-pushed); use Always or pin a digest",
                )
            ]
        return []


class Amounts(Model):
    cpu: Quantity
    memory: Quantity
    ephemeral_storage: Quantity


class Resources(Model):
    requests: Amounts
    limits: Amounts

    def problems(self) -> list[Problem]:
        found = []
        for field, info in Amounts.model_fields.items():
            request, limit = getattr(self.requests, field), getattr(self.limits, field)
            if parse_quantity(request) > parse_quantity(limit):
                found.append(
                    Problem(("requests", info.alias), request, f"must not exceed limits.{info.alias} ({limit})")
                )
        return found


class Probe(Model):
    initial_delay_seconds: int = Field(0, ge=0)
    period_seconds: int = Field(ge=1)
    timeout_seconds: int = Field(ge=1)
    failure_threshold: int = Field(ge=1)

    def problems(self) -> list[Problem]:
        if self.timeout_seconds >= self.period_seconds:
            return [
                Problem(
                    ("timeoutSeconds",),
                    self.timeout_seconds,
                    f"must be less than periodSeconds ({self.period_seconds}) so probes never overlap",
                )
            ]
        return []


class Probes(Model):
    """The backend serves one health endpoint; startup guards slow boots so liveness stays strict."""

    path: Annotated[str, _pattern(re.compile(r"^/\S*$"), "an absolute HTTP path such as /health")] = "/health"
    startup: Probe = Probe(periodSeconds=5, timeoutSeconds=2, failureThreshold=30)
    readiness: Probe = Probe(periodSeconds=10, timeoutSeconds=2, failureThreshold=3)
    liveness: Probe = Probe(periodSeconds=20, timeoutSeconds=2, failureThreshold=3)


class Metrics(Model):
    path: Annotated[str, _pattern(re.compile(r"^/\S*$"), "an absolute HTTP path such as /api/metrics")] = "/api/metrics"
    scrape: bool = True


class PodSecurity(Model):
    # Above 10000 so the uid never collides with a host user (checkov CKV_K8S_40, PSS guidance).
    run_as_user: int = Field(10001, ge=10001)
    run_as_group: int = Field(10001, ge=10001)
    fs_group: int = Field(10001, ge=10001)


class Termination(Model):
    grace_period_seconds: int = Field(30, ge=1, le=600)
    # Keeps serving while endpoints and load balancers drop the pod, before SIGTERM.
    pre_stop_sleep_seconds: int = Field(5, ge=0)

    def problems(self) -> list[Problem]:
        if self.pre_stop_sleep_seconds >= self.grace_period_seconds:
            return [
                Problem(
                    ("preStopSleepSeconds",),
                    self.pre_stop_sleep_seconds,
                    f"must be less than gracePeriodSeconds ({self.grace_period_seconds}), "
                    "or the app gets no time to shut down",
                )
            ]
        return []


EnvName = Annotated[str, _pattern(_ENV_NAME, "an environment variable name such as LOG_LEVEL")]
