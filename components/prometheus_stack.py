"""The Prometheus Operator with a Prometheus, Alertmanager and Grafana (kube-prometheus-stack), when
`monitoring.prometheusOperator` is on in eks mode: it serves the CRDs our PrometheusRule and
ServiceMonitor need and runs the Prometheus at `monitoring.prometheusUrl` (`prometheus-operated`).

The release is named `prometheus`, so the chart's default selectors (`release: prometheus`) pick up
our rules and monitors; Grafana's sidecar loads the dashboards labelled `grafana_dashboard`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.storage import block_class

RELEASE = "prometheus"


def stack_values(config: StackConfig) -> dict:
    storage = {"storageClassName": block_class(config), "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}
    return {
        "prometheus": {"prometheusSpec": {"retention": "15d", "storageSpec": {"volumeClaimTemplate": {"spec": storage}}}},
        "grafana": {"sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "searchNamespace": "ALL"}}},
        # EKS runs the controller manager, scheduler and etcd out of reach, and kube-proxy's metrics
        # listen on 127.0.0.1: scraping them only makes their Down alerts fire forever.
        **{component: {"enabled": False} for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")},
    }


class PrometheusStack(pulumi.ComponentResource):
    """Outputs: `release`."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, nodes: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:PrometheusStack", name, None, opts)
        self.release = helm_release(
            f"{name}-chart",
            RELEASE,
            config.addons.kubePrometheusStack,
            stack_values(config),
            pulumi.ResourceOptions(parent=self, provider=provider, depends_on=nodes),
        )
        self.register_outputs({"release": RELEASE})
