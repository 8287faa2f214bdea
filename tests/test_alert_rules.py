"""The seed's alerts through promtool: the rendered rules are valid, and each alert fires at its
threshold after its `for` duration, not before, and stays silent below the threshold."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from rdagent_infra.config import AlertsConfig
from rdagent_infra.logic.alerts import alert_rules
from tests.conftest import ROOT
from tests.manifests import load_manifests, one
from tests.traffic_series import SCENARIOS, Load, counters_for, promtool_series

PROMTOOL = shutil.which("promtool")

NS = "rdagent"
CONTAINER = {"namespace": NS, "pod": "rdagent-ui-0", "container": "ui"}


def promtool(*args: str, cwd) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool is not installed (make test installs Debian's prometheus package)"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def series(name: str, labels: dict, values: str) -> dict:
    rendered = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{rendered}}}", "values": values}


def cpu_input(cpu_seconds_per_minute: int) -> list[dict]:
    """Ten minutes at 50% of a one-core limit, then `cpu_seconds_per_minute` CPU-seconds a minute.

    The warm-up keeps rate()'s 5m window full, so the expression crosses the threshold at a
    known minute: for 54 (90%) it passes 80% at 14m ((4 x 54 + 30) / 300 = 82%).
    """
    return [
        series("container_cpu_usage_seconds_total", CONTAINER, f"0+30x10 {300 + cpu_seconds_per_minute}+{cpu_seconds_per_minute}x30"),
        series("kube_pod_container_resource_limits", {**CONTAINER, "resource": "cpu", "unit": "core"}, "1x30"),
    ]


def memory_input(fraction: float) -> list[dict]:
    limit = 1024**3
    return [
        series("container_memory_working_set_bytes", CONTAINER, f"{int(limit * fraction)}x30"),
        series("kube_pod_container_resource_limits", {**CONTAINER, "resource": "memory", "unit": "byte"}, f"{limit}x30"),
    ]


PROVIDERS = ("gatewayApi", "ingressNginx")
# The service label the error-rate alert is grouped by: the sidecar's all-pods Service, or the
# Ingress's main backend (ingress-nginx labels canary requests with it too).
ALERT_SERVICE = {"gatewayApi": "rdagent-ui", "ingressNginx": "rdagent-ui-stable"}


def http_input(provider: str, loads: dict[str, Load], minutes: int = 30) -> list[dict]:
    """The traffic source's real series (tests/traffic_series.py), as the gate tests backfill them."""
    return promtool_series(counters_for(provider, loads), minutes)


def one_track(errors_percent: float) -> dict[str, Load]:
    return {"stable": Load(rps=100 / 60, error_ratio=errors_percent / 100)}


def alert(name: str, severity: str, labels: dict, summary: str, description: str) -> dict:
    return {"exp_labels": {"severity": severity, **labels}, "exp_annotations": {"summary": summary, "description": description}}


def cases(provider: str) -> list[dict]:
    cpu = alert("HighCPUUsage", "warning", CONTAINER, "High CPU usage detected", "rdagent-ui-0/ui uses 90% of its CPU limit, above 80% for more than 5 minutes")
    memory = alert(
        "HighMemoryUsage",
        "critical",
        CONTAINER,
        "High memory usage detected",
        "rdagent-ui-0/ui uses 95% of its memory limit, above 90% for more than 2 minutes",
    )
    service = ALERT_SERVICE[provider]

    def errors(percent: str) -> dict:
        return alert(
            "HighErrorRate",
            "critical",
            {"namespace": NS, "service": service},
            "High error rate detected",
            f"{service} answers {percent}% of requests with 5xx, above 5% for more than 5 minutes",
        )

    return [
        # Above the threshold: pending first, firing once the `for` duration has passed.
        {
            "interval": "1m",
            "input_series": cpu_input(54),
            "alert_rule_test": [
                {"eval_time": "18m", "alertname": "HighCPUUsage", "exp_alerts": []},  # pending since 14m
                {"eval_time": "20m", "alertname": "HighCPUUsage", "exp_alerts": [cpu]},
            ],
        },
        {
            "interval": "1m",
            "input_series": memory_input(0.95),
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": "HighMemoryUsage", "exp_alerts": []},
                {"eval_time": "3m", "alertname": "HighMemoryUsage", "exp_alerts": [memory]},
            ],
        },
        {
            "interval": "1m",
            "input_series": http_input(provider, one_track(6)),
            "alert_rule_test": [
                {"eval_time": "5m", "alertname": "HighErrorRate", "exp_alerts": []},
                {"eval_time": "7m", "alertname": "HighErrorRate", "exp_alerts": [errors("6.0")]},
            ],
        },
        # The 5xx-heavy canary of the gate tests (test_prometheus_gates.py): it fails its gate and fires the alert.
        {
            "interval": "1m",
            "input_series": http_input(provider, SCENARIOS["errors"]),
            "alert_rule_test": [{"eval_time": "10m", "alertname": "HighErrorRate", "exp_alerts": [errors("8.0")]}],
        },
        # The good and the slow canaries stay under the error-rate alert.
        {
            "interval": "1m",
            "input_series": http_input(provider, SCENARIOS["good"]),
            "alert_rule_test": [{"eval_time": "20m", "alertname": "HighErrorRate", "exp_alerts": []}],
        },
        # Below the threshold: silent however long it lasts.
        {
            "interval": "1m",
            "input_series": cpu_input(42) + memory_input(0.85) + http_input(provider, one_track(4)),
            "alert_rule_test": [{"eval_time": "40m", "alertname": name, "exp_alerts": []} for name in ("HighCPUUsage", "HighMemoryUsage", "HighErrorRate")],
        },
    ]


@pytest.fixture(params=PROVIDERS)
def rules_dir(tmp_path, request):
    provider = request.param
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(alert_rules(NS, AlertsConfig(), provider), sort_keys=False))
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": cases(provider)}, sort_keys=False))
    return tmp_path


def test_rules_pass_promtool_check(rules_dir):
    result = promtool("check", "rules", "rules.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 rules found" in result.stdout


def test_each_alert_fires_at_its_threshold_after_its_duration(rules_dir):
    result = promtool("test", "rules", "tests.yaml", cwd=rules_dir)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("stack", ["dev", "test", "staging", "prod"])
def test_rendered_rules_are_the_ones_tested(synthesized, stack, tmp_path):
    manifests = load_manifests(synthesized(stack))
    rule_objects = [m for m in manifests if m["kind"] == "PrometheusRule"]
    if rule_objects:
        groups = rule_objects[0]["spec"]
    else:
        groups = yaml.safe_load(one(manifests, "ConfigMap", "rdagent-alert-rules")["data"]["rdagent-rules.yaml"])
    (tmp_path / "rendered.yaml").write_text(yaml.safe_dump(groups))
    result = promtool("check", "rules", "rendered.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    provider = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].get("rdagent:rollout", {}).get("trafficProvider", "gatewayApi")
    assert json.dumps(groups, sort_keys=True) == json.dumps(alert_rules(NS, AlertsConfig(), provider), sort_keys=True)
