"""Rules about the target cluster: its Kubernetes version, its reserved namespaces, and what must
reach the pods through the NetworkPolicy. They hold in every stack."""

from __future__ import annotations

from pydantic import SecretStr

from settings.engine import Problem, rule
from settings.engine import at as _at
from settings.stack import minor

# The oldest minor whose API server keeps every field the manifests set: below it a field
# behind a feature gate that is off by default is dropped silently, not refused.
MINIMUM_MINOR = 27
MINIMUM_REASONS = "PodDisruptionBudget unhealthyPodEvictionPolicy and topologySpread matchLabelKeys are on by default"
# The kubelet's own preStop `sleep` action (PodLifecycleSleepAction, beta and on by default).
SLEEP_ACTION_MINOR = 30
# Pod Security Admission is stable from 1.25; an older pin evaluates an older, weaker profile
# (before v1.22 the restricted profile did not even check dropped capabilities).
PSA_STABLE_MINOR = 25
# Namespaces Kubernetes creates and owns: the `kube-` prefix is reserved, `default` always exists.
RESERVED_PREFIX = "kube-"
RESERVED_NAMES = ("default",)


@rule("kubernetes.version")
def cluster_is_recent_enough(version: str) -> list[Problem]:
    """The cluster runs Kubernetes 1.27 or later."""
    if minor(version) >= MINIMUM_MINOR:
        return []
    allowed = f"at least 1.{MINIMUM_MINOR} ({MINIMUM_REASONS} from there; older API servers drop them silently)"
    return [Problem(_at("kubernetes.version"), version, allowed)]


@rule("kubernetes.version", "backend.termination.preStopSleepSeconds")
def sleep_action_is_available(version: str, sleep: int) -> list[Problem]:
    """A preStop sleep needs Kubernetes 1.30, for the kubelet's own `sleep` action."""
    if not sleep or minor(version) >= SLEEP_ACTION_MINOR:
        return []
    allowed = (
        f"the preStop sleep action needs Kubernetes >= 1.{SLEEP_ACTION_MINOR} (kubernetes.version is {version}); "
        "set 0 or upgrade the cluster"
    )
    return [Problem(_at("backend.termination.preStopSleepSeconds"), sleep, allowed)]


@rule("kubernetes.version", "kubernetes.podSecurityVersion")
def pod_security_pin_is_meaningful(version: str, pinned: str | None) -> list[Problem]:
    """The Pod Security pin is `latest`, or from v1.25 to the cluster's version."""
    if pinned is None or pinned == "latest" or PSA_STABLE_MINOR <= minor(pinned) <= minor(version):
        return []
    allowed = (
        f"from v1.{PSA_STABLE_MINOR} (Pod Security Admission stable; older pins weaken the restricted profile) "
        f"to the cluster's v{version}, or latest"
    )
    return [Problem(_at("kubernetes.podSecurityVersion"), pinned, allowed)]


@rule("kubernetes.namespace", "kubernetes.createNamespace")
def namespace_is_ours_to_create(namespace: str, create: bool) -> list[Problem]:
    """The stack never creates a namespace Kubernetes reserves (`kube-*`, `default`)."""
    if not create or not (namespace.startswith(RESERVED_PREFIX) or namespace in RESERVED_NAMES):
        return []
    allowed = (
        f"Kubernetes owns '{namespace}' (names starting with {RESERVED_PREFIX} and {', '.join(RESERVED_NAMES)} are "
        "reserved): set createNamespace: false, or better, deploy into a namespace of the backend's own"
    )
    return [Problem(_at("kubernetes.createNamespace"), create, allowed)]


@rule("backend.metrics.scrape", "backend.metrics.prometheusNamespace", "backend.networkPolicy.allowedNamespaces")
def prometheus_can_scrape(scrape: bool, prometheus: str, allowed_namespaces: tuple[str, ...]) -> list[Problem]:
    """With scraping on, the NetworkPolicy admits the namespace Prometheus scrapes from."""
    if not scrape or prometheus in allowed_namespaces:
        return []
    allowed = (
        f"scraping is on, but the NetworkPolicy only admits {', '.join(allowed_namespaces)}: add '{prometheus}' to "
        "networkPolicy.allowedNamespaces, or set metrics.scrape: false"
    )
    return [Problem(_at("backend.metrics.prometheusNamespace"), prometheus, allowed)]


@rule("kubeconfig")
def kubeconfig_is_contents(kubeconfig: SecretStr | None) -> list[Problem]:
    """The kubeconfig secret holds the file's contents, not a path."""
    # The provider reads a path too, but a path in state is one operator's file: on every other
    # machine (a colleague's, CI's) it is missing or another cluster's.
    text = kubeconfig.get_secret_value().strip() if kubeconfig is not None else "{"
    if "\n" in text or text.startswith("{"):
        return []
    allowed = "must be the kubeconfig file's contents (`pulumi config set --secret kubeconfig < FILE`), not a path"
    return [Problem(("kubeconfig",), kubeconfig, allowed)]
