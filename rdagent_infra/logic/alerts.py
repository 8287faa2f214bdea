"""The seed's alerts as Prometheus rules, over metrics that really exist.

CPU and memory come from cAdvisor (kubelet) usage against kube-state-metrics' container
limits, so "80% CPU" means 80% of the container's limit. The error rate comes from where
the traffic is measured (logic/traffic_metrics.py): the ingress-nginx controller or the UI pods'
Envoy sidecar, the same series the rollout gates read.
"""

from __future__ import annotations

from typing import Any

from rdagent_infra.config import AlertsConfig
from rdagent_infra.logic.traffic_metrics import traffic_source

CPU_USAGE = "container_cpu_usage_seconds_total"
MEMORY_WORKING_SET = "container_memory_working_set_bytes"
CONTAINER_LIMITS = "kube_pod_container_resource_limits"
GROUP_NAME = "rdagent.rules"


def _by_container(namespace: str) -> str:
    return f'namespace="{namespace}", container!="", container!="POD"'


def cpu_percent_expr(namespace: str) -> str:
    return (
        f"100 * sum by (namespace, pod, container) (rate({CPU_USAGE}{{{_by_container(namespace)}}}[5m]))"
        f' / sum by (namespace, pod, container) ({CONTAINER_LIMITS}{{namespace="{namespace}", resource="cpu"}})'
    )


def memory_percent_expr(namespace: str) -> str:
    return (
        f"100 * sum by (namespace, pod, container) ({MEMORY_WORKING_SET}{{{_by_container(namespace)}}})"
        f' / sum by (namespace, pod, container) ({CONTAINER_LIMITS}{{namespace="{namespace}", resource="memory"}})'
    )


def error_rate_percent_expr(namespace: str, provider: str, window: str = "5m") -> str:
    source = traffic_source(provider, namespace)
    return source.error_rate("", window, by=source.group_by)


def _format(number: float) -> str:
    return f"{number:g}"


def alert_rules(namespace: str, alerts: AlertsConfig, provider: str = "gatewayApi") -> dict[str, Any]:
    """One rule group in the layout both PrometheusRule.spec and a rule file use."""
    return {
        "groups": [
            {
                "name": GROUP_NAME,
                "rules": [
                    {
                        "alert": "HighCPUUsage",
                        "expr": f"{cpu_percent_expr(namespace)} > {_format(alerts.cpuPercent)}",
                        "for": f"{alerts.cpuForMinutes}m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "High CPU usage detected",
                            "description": (
                                f'{{{{ $labels.pod }}}}/{{{{ $labels.container }}}} uses {{{{ $value | printf "%.0f" }}}}% of its CPU limit, '
                                f"above {_format(alerts.cpuPercent)}% for more than {alerts.cpuForMinutes} minutes"
                            ),
                        },
                    },
                    {
                        "alert": "HighMemoryUsage",
                        "expr": f"{memory_percent_expr(namespace)} > {_format(alerts.memoryPercent)}",
                        "for": f"{alerts.memoryForMinutes}m",
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "High memory usage detected",
                            "description": (
                                f'{{{{ $labels.pod }}}}/{{{{ $labels.container }}}} uses {{{{ $value | printf "%.0f" }}}}% of its memory limit, '
                                f"above {_format(alerts.memoryPercent)}% for more than {alerts.memoryForMinutes} minutes"
                            ),
                        },
                    },
                    {
                        "alert": "HighErrorRate",
                        "expr": f"{error_rate_percent_expr(namespace, provider)} > {_format(alerts.errorRatePercent)}",
                        "for": f"{alerts.errorRateForMinutes}m",
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "High error rate detected",
                            "description": (
                                f'{{{{ $labels.service }}}} answers {{{{ $value | printf "%.1f" }}}}% of requests with 5xx, '
                                f"above {_format(alerts.errorRatePercent)}% for more than {alerts.errorRateForMinutes} minutes"
                            ),
                        },
                    },
                ],
            }
        ]
    }
