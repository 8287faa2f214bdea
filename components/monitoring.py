"""Monitoring: the seed's alerts as a PrometheusRule (when the Prometheus Operator runs) or as a
rule file in a ConfigMap, the scrape of where the UI's requests are measured (a ServiceMonitor
on the UI pods' Envoy sidecar, or a PodMonitor on the ingress-nginx controller), and the seed's three dashboards as
Grafana dashboard ConfigMaps (labelled for the Grafana sidecar)."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.rdagent_ui import SCRAPE_LABEL, has_sidecar
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import alerts as alert_logic
from rdagent_infra.logic import llm_gateway
from rdagent_infra.logic.pods import labels, selector
from rdagent_infra.logic.rollout import TRACK_LABEL
from rdagent_infra.logic.traffic_metrics import application_panels

RULES_FILE = "rdagent-rules.yaml"


def _panel(panel_id: int, title: str, expr: str, unit: str, x: int, y: int) -> dict:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr}],
    }


def dashboard(uid: str, title: str, panels: list[tuple[str, str, str]]) -> dict:
    return {
        "uid": uid,
        "title": title,
        "tags": ["rdagent"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
        "panels": [_panel(index + 1, title_, expr, unit, 12 * (index % 2), 8 * (index // 2)) for index, (title_, expr, unit) in enumerate(panels)],
    }


def dashboards(namespace: str, provider: str = "gatewayApi", gateway: bool = False) -> dict[str, dict]:
    """The seed's three dashboards: system overview, application metrics (with the LLM gateway's
    requests, latency and cache hits when the stack has one), business metrics."""
    ns = f'namespace="{namespace}"'
    return {
        "system-overview": dashboard(
            "rdagent-system",
            "RD-Agent: system overview",
            [
                ("CPU usage (% of limit)", alert_logic.cpu_percent_expr(namespace), "percent"),
                ("Memory usage (% of limit)", alert_logic.memory_percent_expr(namespace), "percent"),
                (
                    "Disk usage",
                    f"sum by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{ns}}}) / sum by (persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{{{ns}}})",
                    "percentunit",
                ),
                ("GPU utilisation", f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{{{ns}}})", "percent"),
            ],
        ),
        "application-metrics": dashboard(
            "rdagent-application",
            "RD-Agent: application metrics",
            application_panels(provider, namespace) + (llm_gateway.dashboard_panels(namespace) if gateway else []),
        ),
        "business-metrics": dashboard(
            "rdagent-business",
            "RD-Agent: business metrics",
            [
                ("Experiments per hour", f"sum(increase(rdagent_experiments_total{{{ns}}}[1h]))", "short"),
                ("Model accuracy", f"avg by (scenario) (rdagent_model_accuracy{{{ns}}})", "percentunit"),
                (
                    "Task completion rate",
                    f"sum(rate(rdagent_tasks_completed_total{{{ns}}}[1h])) / sum(rate(rdagent_tasks_started_total{{{ns}}}[1h]))",
                    "percentunit",
                ),
            ],
        ),
    }


class Monitoring(pulumi.ComponentResource):
    """Outputs: `rule_names`."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = config.namespace
        monitoring = config.monitoring
        provider = config.rollout.trafficProvider
        rules = alert_logic.alert_rules(namespace, monitoring.alerts, provider)
        if monitoring.prometheusOperator:
            k8s.apiextensions.CustomResource(
                f"{name}-rules",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata={"name": "rdagent-alerts", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "release": "prometheus"}},
                spec=rules,
                opts=child,
            )
            self._scrape(name, config, child)
            if config.llm.gateway.enabled:
                k8s.apiextensions.CustomResource(
                    f"{name}-gateway-monitor",
                    api_version="monitoring.coreos.com/v1",
                    kind="ServiceMonitor",
                    metadata={"name": llm_gateway.APP, "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "release": "prometheus"}},
                    spec=llm_gateway.service_monitor_spec(),
                    opts=child,
                )
        else:
            k8s.core.v1.ConfigMap(
                f"{name}-rules",
                metadata={"name": "rdagent-alert-rules", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "prometheus-rules": "true"}},
                data={RULES_FILE: yaml.safe_dump(rules, sort_keys=False)},
                opts=child,
            )
        for key, board in dashboards(namespace, provider, config.llm.gateway.enabled).items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{key}",
                metadata={"name": f"rdagent-dashboard-{key}", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "grafana_dashboard": "1"}},
                data={f"{key}.json": json.dumps(board, indent=2, sort_keys=True)},
                opts=child,
            )
        self.register_outputs({})

    def _scrape(self, name: str, config: StackConfig, child: pulumi.ResourceOptions) -> None:
        namespace = config.namespace
        if has_sidecar(config):
            spec = {
                "selector": {"matchLabels": {**selector("rdagent-ui", "ui"), SCRAPE_LABEL: "true"}},
                "namespaceSelector": {"matchNames": [namespace]},
                # Series carry the pod's rollout track (as rdagent_io_track): the rollout gates read it.
                "podTargetLabels": [TRACK_LABEL],
                "endpoints": [{"port": "envoy-stats", "path": "/stats/prometheus", "interval": "30s"}],
            }
            kind, part, object_name = "ServiceMonitor", "ui-monitor", "rdagent-ui"
        else:
            # The controller's series name the Ingress's namespace and service themselves: honorLabels keeps
            # them (else they become exported_namespace / exported_service beside the controller pod's own).
            spec = {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}},
                "namespaceSelector": {"matchNames": [config.monitoring.ingressNginxNamespace]},
                "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s", "honorLabels": True}],
            }
            kind, part, object_name = "PodMonitor", "ingress-nginx-monitor", "rdagent-ingress-nginx"
        k8s.apiextensions.CustomResource(
            f"{name}-{part}",
            api_version="monitoring.coreos.com/v1",
            kind=kind,
            metadata={"name": object_name, "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "release": "prometheus"}},
            spec=spec,
            opts=child,
        )
