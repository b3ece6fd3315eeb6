"""What prod inherits from defaults, pinned to literal values: a change to a default or a builder
that alters what production runs fails here and must be made on purpose.

Three sources, kept apart: literals are the program's defaults and the documentation's promises; the
names and selector the running platform already has (tests/fixtures/live, adopted by the first
`pulumi up`) are pinned too, and checked against that export; what Pulumi.prod.yaml itself sets
(sizing, image, env, inventory, ...) is marked ``<stack>`` below and read from the parsed file, so
a routine edit of the stack file is followed, never fought."""

from __future__ import annotations

import copy
from functools import cache

import yaml

from offline.harness import PROJECT, ROOT, run_stack, stack_document
from offline.yaml_reader import load_yaml

FROM_STACK = "<stack>"
LIVE = ROOT / "tests" / "fixtures" / "live" / "running-platform"

# The prod Deployment's spec exactly as Pulumi sends it, written out by hand from the capacity
# proposal and the documentation's promises (not recomputed from the settings); ``<stack>`` marks what
# Pulumi.prod.yaml sets, filled in by _expected_deployment_spec from the parsed file.
PROD_DEPLOYMENT_SPEC = load_yaml(
    """
progressDeadlineSeconds: 600
revisionHistoryLimit: <stack>
selector:
  matchLabels: {app: backend}
strategy:
  type: RollingUpdate
  rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
template:
  metadata:
    annotations: {prometheus.io/path: /api/metrics, prometheus.io/port: '8000', prometheus.io/scrape: 'true'}
    labels:
      app: backend
      app.kubernetes.io/component: backend
      app.kubernetes.io/instance: backend-prod
      app.kubernetes.io/managed-by: pulumi
      app.kubernetes.io/name: backend
      app.kubernetes.io/part-of: reconciliation-platform
      app.kubernetes.io/version: <stack>
  spec:
    automountServiceAccountToken: false
    enableServiceLinks: false
    serviceAccountName: backend
    terminationGracePeriodSeconds: <stack>
    securityContext:
      fsGroup: 10001
      fsGroupChangePolicy: OnRootMismatch
      runAsGroup: 10001
      runAsNonRoot: true
      runAsUser: 10001
      seccompProfile: {type: RuntimeDefault}
    containers:
    - name: backend
      image: <stack>
      imagePullPolicy: Always
      # The stack's plain env, then each inventory secret from reconciliation-secrets (synced by
      # External Secrets), then each automated secret's value before its last rotation (optional,
      # from the same Secret): see _env.
      env: <stack>
      ports: [{containerPort: 8000, name: http, protocol: TCP}]
      lifecycle: {preStop: {sleep: {seconds: <stack>}}}
      startupProbe:
        httpGet: {path: /health, port: http}
        initialDelaySeconds: 0
        periodSeconds: 5
        timeoutSeconds: 2
        failureThreshold: 30
      readinessProbe:
        httpGet: {path: /health, port: http}
        initialDelaySeconds: 0
        periodSeconds: 10
        timeoutSeconds: 2
        failureThreshold: 3
      livenessProbe:
        httpGet: {path: /health, port: http}
        initialDelaySeconds: 0
        periodSeconds: 20
        timeoutSeconds: 2
        failureThreshold: 3
      resources: <stack>
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
        privileged: false
        readOnlyRootFilesystem: true
        runAsGroup: 10001
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile: {type: RuntimeDefault}
      volumeMounts: [{mountPath: /tmp, name: tmp}]
    topologySpreadConstraints:
    - labelSelector:
        matchLabels: {app: backend}
      matchLabelKeys: [pod-template-hash]
      maxSkew: 1
      nodeTaintsPolicy: Honor
      topologyKey: <stack>
      whenUnsatisfiable: <stack>  # ScheduleAnyway unless the stack file says
    - labelSelector:
        matchLabels: {app: backend}
      matchLabelKeys: [pod-template-hash]
      maxSkew: 1
      nodeTaintsPolicy: Honor
      topologyKey: <stack>
      whenUnsatisfiable: <stack>
    volumes: [{emptyDir: {sizeLimit: 64Mi}, name: tmp}]
"""
)


@cache
def _prod():
    return run_stack("prod")


def _inputs(kind: str) -> dict:
    return _prod().one(f"kubernetes:{kind}").inputs


def _written(section: str) -> dict:
    """A section of Pulumi.prod.yaml as parsed (not through the settings or the builders)."""
    return stack_document("prod")[f"{PROJECT}:{section}"]


def _env(backend: dict) -> list[dict]:
    inventory = _written("secrets")["inventory"]
    # One synced Secret (the program's default name) holds the current values and, optional until a
    # first rotation, the previous ones (be4a8ef: one ExternalSecret for current and previous values).
    current = previous = "reconciliation-secrets"
    return [
        *({"name": name, "value": value} for name, value in backend.get("env", {}).items()),
        *({"name": s["name"], "valueFrom": {"secretKeyRef": {"key": s["name"], "name": current}}} for s in inventory),
        *(
            {
                "name": f"{s['name']}_PREVIOUS",
                "valueFrom": {"secretKeyRef": {"key": f"{s['name']}_PREVIOUS", "name": previous, "optional": True}},
            }
            for s in inventory
            if s["automation"] == "automated"
        ),
    ]


def _expected_deployment_spec() -> dict:
    """PROD_DEPLOYMENT_SPEC with each ``<stack>`` filled from the parsed stack file."""
    backend = _written("backend")
    spec = copy.deepcopy(PROD_DEPLOYMENT_SPEC)
    spec["revisionHistoryLimit"] = backend["rollout"]["revisionHistoryLimit"]
    template = spec["template"]
    template["metadata"]["labels"]["app.kubernetes.io/version"] = str(backend["image"]["tag"])
    template["spec"]["terminationGracePeriodSeconds"] = backend["termination"]["gracePeriodSeconds"]
    (container,) = template["spec"]["containers"]
    container["image"] = f"{backend['image']['repository']}:{backend['image']['tag']}"
    container["env"] = _env(backend)
    container["lifecycle"]["preStop"]["sleep"]["seconds"] = backend["termination"]["preStopSleepSeconds"]
    container["resources"] = {
        side: {"ephemeral-storage" if key == "ephemeralStorage" else key: str(value) for key, value in values.items()}
        for side, values in backend["resources"].items()
    }
    spreads = template["spec"]["topologySpreadConstraints"]
    assert len(spreads) == len(backend["topologySpread"])  # the pinned rest of each constraint, per entry
    for spread, written in zip(spreads, backend["topologySpread"], strict=True):
        spread["topologyKey"] = written["topologyKey"]
        spread["whenUnsatisfiable"] = written.get("whenUnsatisfiable", "ScheduleAnyway")  # the default
    assert FROM_STACK not in yaml.safe_dump(spec), "a <stack> field left unfilled"
    return spec


def test_prod_deployment_spec_is_pinned() -> None:
    assert _inputs("apps/v1:Deployment")["spec"] == _expected_deployment_spec()


def _live(kind: str) -> dict:
    (found,) = [item for item in load_yaml((LIVE / "workload.yaml").read_text())["items"] if item["kind"] == kind]
    return found


def test_prod_keeps_the_running_platforms_names_and_selector() -> None:
    # Adoption: the first `pulumi up` takes over these live objects, so their names and the
    # Deployment's (immutable) selector are the running platform's, pinned and checked against it.
    deployment = _inputs("apps/v1:Deployment")
    live = _live("Deployment")
    assert deployment["metadata"]["name"] == live["metadata"]["name"] == "backend"
    assert deployment["metadata"]["namespace"] == live["metadata"]["namespace"] == "reconciliation-platform"
    assert deployment["spec"]["selector"] == live["spec"]["selector"] == {"matchLabels": {"app": "backend"}}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["name"] == "backend"
    pinned = {
        "autoscaling/v2:HorizontalPodAutoscaler": "backend-hpa",
        "policy/v1:PodDisruptionBudget": "backend-pdb",
        "core/v1:Service": "backend",
    }
    for kind, name in pinned.items():
        assert _inputs(kind)["metadata"]["name"] == _live(kind.split(":")[1])["metadata"]["name"] == name


def test_prod_probes_keep_their_failure_thresholds() -> None:
    # Said twice on purpose: a startup threshold of 30 x 5 s gives a slow boot 150 s before
    # liveness may restart it; 3 x 20 s of liveness failures restart a hung pod within a minute.
    (container,) = _inputs("apps/v1:Deployment")["spec"]["template"]["spec"]["containers"]
    assert (container["startupProbe"]["failureThreshold"], container["startupProbe"]["periodSeconds"]) == (30, 5)
    assert (container["livenessProbe"]["failureThreshold"], container["livenessProbe"]["periodSeconds"]) == (3, 20)


def test_prod_spreads_count_only_the_current_release() -> None:
    spreads = _inputs("apps/v1:Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [spread["matchLabelKeys"] for spread in spreads] == [["pod-template-hash"], ["pod-template-hash"]]


def test_prod_namespace_pins_pod_security_to_the_cluster_version() -> None:
    version = f"v{_written('kubernetes')['version']}"  # the cluster's, as the stack file says
    assert _inputs("core/v1:Namespace")["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/part-of": "reconciliation-platform",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": version,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": version,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": version,
    }


def test_prod_network_policy_admits_only_ingress_and_monitoring() -> None:
    spec = _inputs("networking.k8s.io/v1:NetworkPolicy")["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/metadata.name",
                                "operator": "In",
                                "values": _written("backend")["networkPolicy"]["allowedNamespaces"],
                            }
                        ]
                    }
                }
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]


def test_prod_budget_and_autoscaler_are_pinned() -> None:
    backend = _written("backend")
    assert _inputs("policy/v1:PodDisruptionBudget")["spec"] == {
        "minAvailable": backend["disruptionBudget"]["minAvailable"],
        "selector": {"matchLabels": {"app": "backend"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    hpa = _inputs("autoscaling/v2:HorizontalPodAutoscaler")["spec"]
    scaling = backend["autoscaling"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (scaling["minReplicas"], scaling["maxReplicas"])
