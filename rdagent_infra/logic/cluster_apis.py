"""Which custom-resource APIs a stack needs from its cluster (pure; the check itself is in
rdagent_infra.cluster_check).

Without its CRD an object such as an HTTPRoute is not rejected at once: the engine retries it for
about a minute, then fails with a message about a missing kind. The stack's config says upfront
which APIs it will use, so the program and the `rollout` command can refuse with a clear message
before anything is changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.rollout import RolloutPlan


@dataclass(frozen=True)
class ApiNeed:
    kind: str
    group: str
    version: str
    plural: str
    # The stack config that asks for it, and what provides it.
    why: str
    provider: str

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}"

    def message(self, context: str) -> str:
        return (
            f"the cluster (kubeconfig context {context!r}) does not serve {self.kind} ({self.plural}.{self.group}/{self.version}), "
            f"which {self.why} needs: install {self.provider} in the cluster first"
        )


GATEWAY_API = "the Gateway API CRDs (the experimental channel Envoy Gateway installs, or the standard one)"


def _route(why: str) -> ApiNeed:
    return ApiNeed("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes", why, GATEWAY_API)


def apis_for_plan(config: StackConfig, plan: RolloutPlan) -> list[ApiNeed]:
    """The custom-resource APIs this plan's objects use."""
    needs: list[ApiNeed] = []
    ui = config.workloads.ui
    if plan.weights and plan.provider == "gatewayApi":
        needs.append(_route("rdagent:rollout.trafficProvider gatewayApi"))
    elif not plan.weights and ui.ingress.enabled and ui.ingress.kind == "gatewayApi":
        needs.append(_route("rdagent:workloads.ui.ingress.kind gatewayApi"))
    if ui.ingress.tls and ui.ingress.certManager is not None and (ui.ingress.enabled or plan.weights):
        why = "rdagent:workloads.ui.ingress.certManager"
        needs.append(ApiNeed("Certificate", "cert-manager.io", "v1", "certificates", why, "cert-manager (its CRDs and the issuer)"))
    if config.monitoring.enabled and config.monitoring.prometheusOperator:
        why, operator = "rdagent:monitoring.prometheusOperator", "the Prometheus Operator (its CRDs)"
        needs.append(ApiNeed("PrometheusRule", "monitoring.coreos.com", "v1", "prometheusrules", why, operator))
        needs.append(ApiNeed("ServiceMonitor", "monitoring.coreos.com", "v1", "servicemonitors", why, operator))
    if config.logging.enabled and config.logging.mode == "eck":
        why, operator = "rdagent:logging.mode eck", "the Elastic operator (ECK) and its CRDs"
        needs.append(ApiNeed("Elasticsearch", "elasticsearch.k8s.elastic.co", "v1", "elasticsearches", why, operator))
        needs.append(ApiNeed("Kibana", "kibana.k8s.elastic.co", "v1", "kibanas", why, operator))
        needs.append(ApiNeed("Logstash", "logstash.k8s.elastic.co", "v1alpha1", "logstashes", why, operator))
    if config.queue_enabled() and config.cluster.mode != "eks":
        why, kueue = "rdagent:queue", "Kueue (v0.15 or newer, which serves kueue.x-k8s.io/v1beta2)"
        kinds = (("ClusterQueue", "clusterqueues"), ("LocalQueue", "localqueues"), ("ResourceFlavor", "resourceflavors"))
        for kind, plural in (*kinds, ("WorkloadPriorityClass", "workloadpriorityclasses")):
            needs.append(ApiNeed(kind, "kueue.x-k8s.io", "v1beta2", plural, why, kueue))
    return needs


def apis_for_stack(config: StackConfig, plan: RolloutPlan) -> list[ApiNeed]:
    """What the plan uses now, and the route any later rollout step would need (for preflight)."""
    needs = apis_for_plan(config, plan)
    rollout = config.rollout
    if rollout.strategy != "rolling" and rollout.trafficProvider == "gatewayApi" and not any(n.kind == "HTTPRoute" for n in needs):
        needs.insert(0, _route("rdagent:rollout.trafficProvider gatewayApi (during every rollout)"))
    return needs
