"""The real program under mocks, per stack file: what Pulumi would send, checked on the wire."""

from __future__ import annotations

import math

from helpers import PROPOSAL_BEHAVIOR

from offline.harness import PROJECT, RunResult, run_stack, stack_document
from settings.quantity import parse_quantity
from settings.stack import StackSettings

COMPONENT = "reconciliation:backend:BackendService"
KINDS = {
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Service",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:policy/v1:PodDisruptionBudget",
}


def _spec(result: RunResult, kind: str) -> dict:
    return result.one(f"kubernetes:{kind}").inputs["spec"]


def _pod(result: RunResult) -> dict:
    return _spec(result, "apps/v1:Deployment")["template"]


def test_registers_one_of_each_child_under_the_component(result: RunResult, settings: StackSettings) -> None:
    expected = KINDS if settings.kubernetes.create_namespace else KINDS - {"kubernetes:core/v1:Namespace"}
    if settings.backend.metrics.pod_monitor.enabled:
        expected = expected | {"kubernetes:monitoring.coreos.com/v1:PodMonitor"}
    component = result.one(COMPONENT)
    children = [r for r in result.resources if r.type.startswith("kubernetes:") and r.parent == component.urn]
    assert sorted(r.type for r in children) == sorted(expected)
    assert component.parent.endswith(f"pulumi:pulumi:Stack::{PROJECT}-{result.stack}")
    # The secrets sync is a component of its own inside the backend's, with the rest of the objects.
    sync = result.one("reconciliation:secrets:SecretsSync")
    assert sync.parent == component.urn
    synced = sorted(r.type for r in result.resources if r.parent == sync.urn)
    assert synced == [
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:external-secrets.io/v1:ExternalSecret",  # current and previous values, one sync
        "kubernetes:external-secrets.io/v1:SecretStore",
    ]


def test_every_kubernetes_resource_goes_through_the_stack_provider(result: RunResult, settings) -> None:
    provider = result.one("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == settings.kubernetes.context
    children = [r for r in result.resources if r.type.startswith("kubernetes:")]
    assert children
    assert all(child.provider.startswith(provider.urn + "::") for child in children)


def test_everything_lands_in_the_stack_namespace(result: RunResult, settings: StackSettings) -> None:
    for resource in result.resources:
        if resource.type.startswith("kubernetes:") and resource.inputs["kind"] != "Namespace":
            assert resource.inputs["metadata"]["namespace"] == settings.kubernetes.namespace


def test_selectors_agree_across_every_resource(result: RunResult, settings: StackSettings) -> None:
    deployment = _spec(result, "apps/v1:Deployment")
    selector = deployment["selector"]["matchLabels"]
    assert selector == settings.pod_selector
    assert selector.items() <= deployment["template"]["metadata"]["labels"].items()
    assert _spec(result, "core/v1:Service")["selector"] == selector
    assert _spec(result, "policy/v1:PodDisruptionBudget")["selector"] == {"matchLabels": selector}
    assert _spec(result, "networking.k8s.io/v1:NetworkPolicy")["podSelector"] == {"matchLabels": selector}
    for spread in _pod(result)["spec"].get("topologySpreadConstraints", []):
        assert spread["labelSelector"] == {"matchLabels": selector}
    target = _spec(result, "autoscaling/v2:HorizontalPodAutoscaler")["scaleTargetRef"]
    deployment_meta = result.one("kubernetes:apps/v1:Deployment").inputs["metadata"]
    assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_meta["name"]}
    assert deployment_meta["name"] == settings.object_name("deployment")


def test_recommended_labels(result: RunResult, settings: StackSettings) -> None:
    labels = result.one("kubernetes:apps/v1:Deployment").inputs["metadata"]["labels"]
    assert labels == {
        "app.kubernetes.io/name": settings.backend.name,
        "app.kubernetes.io/instance": f"{settings.backend.name}-{settings.environment}",
        "app.kubernetes.io/component": "backend",
        "app.kubernetes.io/part-of": "reconciliation-platform",
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/version": settings.backend.image.version,
        **settings.pod_selector,
    }
    assert _pod(result)["metadata"]["labels"] == labels


def test_deployment_leaves_replicas_to_the_hpa_and_rolls_as_set(result: RunResult, settings: StackSettings) -> None:
    spec = _spec(result, "apps/v1:Deployment")
    rollout = settings.backend.rollout
    assert "replicas" not in spec
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": rollout.max_surge, "maxUnavailable": rollout.max_unavailable},
    }
    assert spec["revisionHistoryLimit"] == rollout.revision_history_limit
    assert spec["progressDeadlineSeconds"] == rollout.progress_deadline_seconds


def test_pod_is_hardened(result: RunResult, settings: StackSettings) -> None:
    pod = _pod(result)["spec"]
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 10000
    assert pod["securityContext"]["runAsGroup"] > 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": settings.backend.tmp_size_limit}} in pod["volumes"]
    accounts = {r.inputs["metadata"]["name"]: r.inputs for r in result.by_type("kubernetes:core/v1:ServiceAccount")}
    own = accounts[pod["serviceAccountName"]]
    assert own["automountServiceAccountToken"] is False
    # The pod's own account has no AWS role: only External Secrets' reader has one.
    assert "eks.amazonaws.com/role-arn" not in own["metadata"].get("annotations", {})


def test_probes_and_scrape_annotations(result: RunResult, settings: StackSettings) -> None:
    template = _pod(result)
    (container,) = template["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": settings.backend.port, "protocol": "TCP"}]
    probes = settings.backend.probes
    for name, probe in (("startup", probes.startup), ("readiness", probes.readiness), ("liveness", probes.liveness)):
        assert container[f"{name}Probe"] == {
            "httpGet": {"path": probes.path, "port": "http"},
            "initialDelaySeconds": probe.initial_delay_seconds,
            "periodSeconds": probe.period_seconds,
            "timeoutSeconds": probe.timeout_seconds,
            "failureThreshold": probe.failure_threshold,
        }
    metrics = settings.backend.metrics
    expected = {"prometheus.io/scrape": "true", "prometheus.io/port": str(settings.backend.port)}
    expected["prometheus.io/path"] = metrics.path
    assert template["metadata"].get("annotations") == (expected if metrics.scrape else None)


def test_resources_match_settings_including_ephemeral_storage(result: RunResult, settings: StackSettings) -> None:
    (container,) = _pod(result)["spec"]["containers"]
    for side in ("requests", "limits"):
        amounts = getattr(settings.backend.resources, side)
        assert container["resources"][side] == {
            "cpu": amounts.cpu,
            "memory": amounts.memory,
            "ephemeral-storage": amounts.ephemeral_storage,
        }
        for value in container["resources"][side].values():
            parse_quantity(value)


def test_graceful_termination(result: RunResult, settings: StackSettings) -> None:
    pod = _pod(result)["spec"]
    (container,) = pod["containers"]
    termination = settings.backend.termination
    assert pod["terminationGracePeriodSeconds"] == termination.grace_period_seconds
    if termination.pre_stop_sleep_seconds:
        assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": termination.pre_stop_sleep_seconds}}}
        assert termination.pre_stop_sleep_seconds < pod["terminationGracePeriodSeconds"]
    else:
        assert "lifecycle" not in container


def test_service_and_network_policy_expose_only_the_app_port(result: RunResult, settings: StackSettings) -> None:
    service = _spec(result, "core/v1:Service")
    assert service["type"] == "ClusterIP"
    assert service["ports"] == [
        {"name": "http", "port": settings.backend.service_port, "targetPort": settings.backend.port, "protocol": "TCP"}
    ]
    policy = _spec(result, "networking.k8s.io/v1:NetworkPolicy")
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": settings.backend.port}]
    (peer,) = rule["from"]
    assert peer == {
        "namespaceSelector": {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": list(settings.backend.network_policy.allowed_namespaces),
                }
            ]
        }
    }


def test_hpa_follows_settings(result: RunResult, settings: StackSettings) -> None:
    hpa = _spec(result, "autoscaling/v2:HorizontalPodAutoscaler")
    scaling = settings.backend.autoscaling
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (scaling.min_replicas, scaling.max_replicas)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": scaling.target_cpu_utilization},
        "memory": {"type": "Utilization", "averageUtilization": scaling.target_memory_utilization},
    }
    # Independent of the implementation: what the stack file says, else the documented default.
    written = stack_document(result.stack)[f"{PROJECT}:backend"]["autoscaling"].get("behavior", {})
    assert hpa["behavior"] == {**PROPOSAL_BEHAVIOR, **written}


def test_pdb_never_blocks_a_drain(result: RunResult) -> None:
    pdb = _spec(result, "policy/v1:PodDisruptionBudget")
    assert pdb["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert len({"minAvailable", "maxUnavailable"} & set(pdb)) == 1
    floor = _spec(result, "autoscaling/v2:HorizontalPodAutoscaler")["minReplicas"]

    def pods(value: int | str) -> int:  # the disruption controller rounds percentages up
        return value if isinstance(value, int) else math.ceil(int(value.rstrip("%")) * floor / 100)

    # At the HPA's floor, the budget still lets at least one pod be evicted.
    if "minAvailable" in pdb:
        assert pods(pdb["minAvailable"]) < floor
    else:
        assert pods(pdb["maxUnavailable"]) >= 1


def test_namespace_enforces_restricted_pod_security(result: RunResult, settings: StackSettings) -> None:
    if not settings.kubernetes.create_namespace:
        return
    namespace = result.one("kubernetes:core/v1:Namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == settings.kubernetes.namespace
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == f"v{settings.kubernetes.version}"
    assert namespace.protect is settings.production
    others = [r for r in result.resources if r.type in KINDS and r is not namespace]
    assert all(namespace.urn in r.depends_on for r in others)


def test_stack_outputs(result: RunResult, settings: StackSettings) -> None:
    outputs = {name: output.value for name, output in result.outputs.items()}
    namespace = settings.kubernetes.namespace
    assert outputs == {
        "environment": settings.environment,
        "kubeContext": settings.kubernetes.context,
        "namespace": namespace,
        "deploymentName": settings.backend.name,
        "image": settings.backend.image.reference,
        "serviceUrl": f"http://{settings.backend.name}.{namespace}.svc.cluster.local:{settings.backend.service_port}",
        "secretsKeyArn": outputs["secretsKeyArn"],  # only AWS knows it: unknown in a preview
        "secretsReaderRoleArn": f"arn:aws:iam::{settings.aws.allowed_account_ids[0]}:role/"
        f"reconciliation-{settings.environment}-secrets-reader",
        "dashboardUrl": outputs["dashboardUrl"],  # Grafana's to say
    }
    assert not result.outputs["dashboardUrl"].known
    assert not result.outputs["secretsKeyArn"].known
    assert not any(output.secret for output in result.outputs.values())


def _written_resources(side: dict) -> dict:
    """A stack file's requests or limits as Kubernetes names them (ephemeralStorage -> ephemeral-storage)."""
    return {"ephemeral-storage" if key == "ephemeralStorage" else key: str(value) for key, value in side.items()}


def test_prod_matches_the_capacity_proposal() -> None:
    # The proposal's sizing lives in Pulumi.prod.yaml: the wire carries what the file says (read
    # here from the parsed file, not through the settings), and the proposal's shape holds.
    result = run_stack("prod")
    backend = stack_document("prod")[f"{PROJECT}:backend"]
    (container,) = _pod(result)["spec"]["containers"]
    for side in ("requests", "limits"):
        assert container["resources"][side] == _written_resources(backend["resources"][side])
    hpa = _spec(result, "autoscaling/v2:HorizontalPodAutoscaler")
    scaling = backend["autoscaling"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (scaling["minReplicas"], scaling["maxReplicas"])
    assert hpa["minReplicas"] >= 2  # production survives a drain or a crash
    targets = [m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]]
    assert targets == [scaling["targetCpuUtilization"], scaling["targetMemoryUtilization"]]
    assert hpa["behavior"] == {**PROPOSAL_BEHAVIOR, **scaling.get("behavior", {})}
    budget = _spec(result, "policy/v1:PodDisruptionBudget")
    assert budget["minAvailable"] == backend["disruptionBudget"]["minAvailable"]
    spreads = _pod(result)["spec"]["topologySpreadConstraints"]
    assert {s["topologyKey"] for s in spreads} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    assert all(s["nodeTaintsPolicy"] == "Honor" for s in spreads)
    hard = {s["topologyKey"] for s in spreads if s["whenUnsatisfiable"] == "DoNotSchedule"}
    assert hard == {"kubernetes.io/hostname"}  # two replicas never share a node; zones stay soft


def test_dev_is_small_and_drainable() -> None:
    result = run_stack("dev")
    prod = run_stack("prod")
    hpa = _spec(result, "autoscaling/v2:HorizontalPodAutoscaler")
    prod_hpa = _spec(prod, "autoscaling/v2:HorizontalPodAutoscaler")
    # Small next to prod (not a fixed number: dev's ceiling is its stack file's to choose).
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"] <= prod_hpa["maxReplicas"]
    budget = stack_document("dev")[f"{PROJECT}:backend"]["disruptionBudget"]
    assert _spec(result, "policy/v1:PodDisruptionBudget")["maxUnavailable"] == budget["maxUnavailable"]
    assert budget["maxUnavailable"] >= 1  # a drain may always take a pod
    (container,) = _pod(result)["spec"]["containers"]
    (prod_container,) = _pod(prod)["spec"]["containers"]
    for side in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            assert parse_quantity(container["resources"][side][resource]) <= parse_quantity(
                prod_container["resources"][side][resource]
            )


def test_an_existing_namespace_is_used_not_created() -> None:
    from helpers import run_changed

    result = run_changed("prod", {"kubernetes.createNamespace": False, "kubernetes.adopt": ["deployment"]}).execute()
    assert result.by_type("kubernetes:core/v1:Namespace") == []
    deployment = result.one("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["metadata"]["namespace"] == stack_document("prod")[f"{PROJECT}:kubernetes"]["namespace"]
    assert all("Namespace" not in dep for dep in deployment.depends_on)
