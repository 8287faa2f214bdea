"""Monitoring: the seed's alerts as a PrometheusRule (when the Prometheus Operator runs) or as a
rule file in a ConfigMap, a ServiceMonitor for the UI, and the seed's three dashboards as
Grafana dashboard ConfigMaps (labelled for the Grafana sidecar)."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.rdagent_ui import SCRAPE_LABEL
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import alerts as alert_logic
from rdagent_infra.logic.pods import labels, selector
from rdagent_infra.logic.rollout import TRACK_LABEL

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


def dashboards(namespace: str) -> dict[str, dict]:
    """The seed's three dashboards: system overview, application metrics, business metrics."""
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
            [
                ("Requests per second", f"sum by (service) (rate({alert_logic.HTTP_REQUESTS}{{{ns}}}[5m]))", "reqps"),
                ("p95 response time", f"histogram_quantile(0.95, sum by (le, service) (rate({alert_logic.HTTP_LATENCY_BUCKETS}{{{ns}}}[5m])))", "s"),
                ("Error rate (%)", alert_logic.error_rate_percent_expr(namespace), "percent"),
            ],
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
        rules = alert_logic.alert_rules(namespace, monitoring.alerts)
        if monitoring.prometheusOperator:
            k8s.apiextensions.CustomResource(
                f"{name}-rules",
                api_version="monitoring.coreos.com/v1",
                kind="PrometheusRule",
                metadata={"name": "rdagent-alerts", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "release": "prometheus"}},
                spec=rules,
                opts=child,
            )
            k8s.apiextensions.CustomResource(
                f"{name}-ui-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={"name": "rdagent-ui", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "release": "prometheus"}},
                spec={
                    "selector": {"matchLabels": {**selector("rdagent-ui", "ui"), SCRAPE_LABEL: "true"}},
                    "namespaceSelector": {"matchNames": [namespace]},
                    # Series carry the pod's rollout track (as rdagent_io_track): the rollout gates read it.
                    "podTargetLabels": [TRACK_LABEL],
                    "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
                },
                opts=child,
            )
        else:
            k8s.core.v1.ConfigMap(
                f"{name}-rules",
                metadata={"name": "rdagent-alert-rules", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "prometheus-rules": "true"}},
                data={RULES_FILE: yaml.safe_dump(rules, sort_keys=False)},
                opts=child,
            )
        for key, board in dashboards(namespace).items():
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{key}",
                metadata={"name": f"rdagent-dashboard-{key}", "namespace": namespace, "labels": {**labels("rdagent", "monitoring"), "grafana_dashboard": "1"}},
                data={f"{key}.json": json.dumps(board, indent=2, sort_keys=True)},
                opts=child,
            )
        self.register_outputs({})
