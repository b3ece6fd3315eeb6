"""What prod inherits from defaults, pinned to literal values: a change to a default, a builder or
the prod stack file that alters what production runs fails here and must be made on purpose."""

from __future__ import annotations

from functools import cache

import yaml

from offline.harness import run_stack

# The prod Deployment's spec exactly as Pulumi sends it, written out by hand from the capacity
# proposal and the README's promises (not recomputed from the settings).
PROD_DEPLOYMENT_SPEC = yaml.safe_load(
    """
progressDeadlineSeconds: 600
revisionHistoryLimit: 10
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
      app.kubernetes.io/version: 1.4.2
  spec:
    automountServiceAccountToken: false
    enableServiceLinks: false
    serviceAccountName: backend
    terminationGracePeriodSeconds: 30
    securityContext:
      fsGroup: 10001
      fsGroupChangePolicy: OnRootMismatch
      runAsGroup: 10001
      runAsNonRoot: true
      runAsUser: 10001
      seccompProfile: {type: RuntimeDefault}
    containers:
    - name: backend
      image: ghcr.io/acme/reconciliation-backend:1.4.2
      imagePullPolicy: Always
      env:
      - {name: LOG_LEVEL, value: info}
      # The inventory's secrets, synced by External Secrets into reconciliation-secrets.
      - {name: JWT_SECRET, valueFrom: {secretKeyRef: {key: JWT_SECRET, name: reconciliation-secrets}}}
      - {name: DATABASE_PASSWORD, valueFrom: {secretKeyRef: {key: DATABASE_PASSWORD, name: reconciliation-secrets}}}
      - {name: REDIS_PASSWORD, valueFrom: {secretKeyRef: {key: REDIS_PASSWORD, name: reconciliation-secrets}}}
      - {name: STRIPE_SECRET_KEY, valueFrom: {secretKeyRef: {key: STRIPE_SECRET_KEY, name: reconciliation-secrets}}}
      - {name: SMTP_PASSWORD, valueFrom: {secretKeyRef: {key: SMTP_PASSWORD, name: reconciliation-secrets}}}
      # The value before the last automated rotation, while tokens signed with it still circulate.
      - name: JWT_SECRET_PREVIOUS
        valueFrom:
          secretKeyRef: {key: JWT_SECRET_PREVIOUS, name: reconciliation-secrets-previous, optional: true}
      ports: [{containerPort: 8000, name: http, protocol: TCP}]
      lifecycle: {preStop: {sleep: {seconds: 5}}}
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
      resources:
        requests: {cpu: 200m, ephemeral-storage: 256Mi, memory: 256Mi}
        limits: {cpu: 500m, ephemeral-storage: 1Gi, memory: 512Mi}
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
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: ScheduleAnyway
    - labelSelector:
        matchLabels: {app: backend}
      matchLabelKeys: [pod-template-hash]
      maxSkew: 1
      nodeTaintsPolicy: Honor
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: DoNotSchedule
    volumes: [{emptyDir: {sizeLimit: 64Mi}, name: tmp}]
"""
)


@cache
def _prod():
    return run_stack("prod")


def _inputs(kind: str) -> dict:
    return _prod().one(f"kubernetes:{kind}").inputs


def test_prod_deployment_spec_is_pinned() -> None:
    assert _inputs("apps/v1:Deployment")["spec"] == PROD_DEPLOYMENT_SPEC


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
    assert _inputs("core/v1:Namespace")["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/part-of": "reconciliation-platform",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.33",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.33",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.33",
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
                                "values": ["ingress-nginx", "monitoring"],
                            }
                        ]
                    }
                }
            ],
            "ports": [{"port": 8000, "protocol": "TCP"}],
        }
    ]


def test_prod_budget_and_autoscaler_are_pinned() -> None:
    assert _inputs("policy/v1:PodDisruptionBudget")["spec"] == {
        "minAvailable": 1,
        "selector": {"matchLabels": {"app": "backend"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    hpa = _inputs("autoscaling/v2:HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
