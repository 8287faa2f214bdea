"""`rdagent-infra preflight`: the seed's pre-deployment checklist (部署前检查清单), checked from the stack.

Each item is pass, fail or n/a, with the reason. The security scan synthesizes the stack and runs
the policy pack's rules and checkov over the result.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from rdagent_infra.config import ConfigError, StackConfig, Tier
from rdagent_infra.platform_checks import (
    FAIL,
    NA,
    PASS,
    ClusterApi,
    Item,
    check_account,
    check_cluster_addons,
    check_endpoint,
    check_gpu_capacity,
    check_kubernetes_support,
)

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
PLATFORM_ITEMS = ("AWS account", "API endpoint access", "Kubernetes version support", "GPU capacity", "cluster add-ons")


def _strict(config: StackConfig) -> bool:
    return config.tier in (Tier.STAGING, Tier.PROD)


def check_secrets(config: StackConfig) -> Item:
    secrets = config.secrets
    present = [name for name, value in secrets if value is not None]
    missing = []
    if _strict(config) and not config.llm_keys():
        missing.append("an LLM API key")
    if config.tier == Tier.PROD and (secrets.tlsCertificate is None or secrets.tlsPrivateKey is None):
        return Item("secrets and certificates", FAIL, "prod serves no certificate: set the tlsCertificate and tlsPrivateKey secrets (the Ingress serves them)")
    if missing:
        return Item("secrets and certificates", FAIL, "missing: " + ", ".join(missing))
    return Item("secrets and certificates", PASS, f"{len(present)} set, all as Pulumi secrets: {', '.join(present)}")


def check_rollback(config: StackConfig) -> Item:
    rollout = config.rollout
    if rollout.strategy == "canary":
        return Item("rollback strategy", PASS, f"canary in {len(rollout.canary.stages)} stages; rollout abort returns all traffic to stable")
    if rollout.strategy == "blueGreen":
        return Item("rollback strategy", PASS, f"blue-green; the old colour is kept {rollout.blueGreen.scaleDownDelayMinutes} min after the switch")
    if _strict(config):
        return Item("rollback strategy", FAIL, "rolling updates only: set rdagent:rollout.strategy to canary or blueGreen")
    return Item("rollback strategy", NA, f"{config.tier.value} uses rolling updates (maxUnavailable 0, revision history kept)")


def check_alerts(config: StackConfig) -> Item:
    monitoring = config.monitoring
    if not monitoring.enabled:
        status = FAIL if _strict(config) else NA
        return Item("alerts", status, "monitoring is disabled (rdagent:monitoring.enabled)")
    alerts = monitoring.alerts
    where = "PrometheusRule" if monitoring.prometheusOperator else "rule file ConfigMap"
    return Item(
        "alerts",
        PASS,
        f"HighCPUUsage > {alerts.cpuPercent:g}% for {alerts.cpuForMinutes}m, HighMemoryUsage > {alerts.memoryPercent:g}% for {alerts.memoryForMinutes}m, "
        f"HighErrorRate > {alerts.errorRatePercent:g}% ({where})",
    )


def check_backups(config: StackConfig) -> Item:
    problems = []
    redis = (
        f"Redis {config.redis.persistence.upper()} persistence on a retained volume"
        if config.redis.mode == "inCluster"
        else "ElastiCache snapshots kept 7 days"
    )
    if config.logging.enabled and not config.logging.elasticsearch.snapshotRepository:
        problems.append("Elasticsearch has no snapshot repository (rdagent:logging.elasticsearch.snapshotRepository)")
    if config.tier == Tier.PROD and not config.protect:
        problems.append("prod's stateful resources are not protected (rdagent:protect)")
    if problems:
        return Item("backups", FAIL if _strict(config) else NA, "; ".join(problems) + f"; {redis}")
    return Item("backups", PASS, f"{redis}; Elasticsearch snapshots to {config.logging.elasticsearch.snapshotRepository or '(logging off)'}")


def check_capacity(config: StackConfig) -> Item:
    if not _strict(config):
        return Item("performance capacity", NA, f"{config.tier.value} runs at minimum size")
    ui = config.workloads.ui
    gpu_runs = [run for run in config.workloads.runs if run.resources.gpus]
    problems = []
    if ui.autoscaling.maxReplicas <= ui.replicas and config.tier == Tier.PROD:
        problems.append(f"the UI cannot scale out (autoscaling.maxReplicas {ui.autoscaling.maxReplicas} <= replicas {ui.replicas})")
    widest = max((run.resources.gpus for run in gpu_runs), default=0)
    if gpu_runs and config.gpu.enabled and config.gpu.maxGpus < widest:
        problems.append(f"a run asks for {widest} GPUs but the GPU pool stops at {config.gpu.maxGpus} (rdagent:gpu.maxGpus)")
    if problems:
        return Item("performance capacity", FAIL, "; ".join(problems))
    return Item(
        "performance capacity",
        PASS,
        f"UI {ui.replicas}..{ui.autoscaling.maxReplicas} replicas at {ui.autoscaling.targetCpuUtilizationPercent}% CPU; "
        f"{len(gpu_runs)} GPU run(s), GPU pool up to {config.gpu.maxGpus} GPUs",
    )


def check_cluster_apis(config: StackConfig) -> Item:
    """kubeconfig mode: the cluster serves every custom-resource API the stack (and its rollouts) use."""
    from rdagent_infra.cluster_check import ClusterUnreachable, missing_apis
    from rdagent_infra.logic.cluster_apis import apis_for_stack
    from rdagent_infra.logic.rollout import plan_rollout

    needs = apis_for_stack(config, plan_rollout(config.rollout, config.workloads.ui.replicas))
    if not needs:
        return Item("cluster APIs", PASS, "the stack uses no custom resources")
    try:
        missing = missing_apis(config, needs)
    except ClusterUnreachable as error:
        return Item("cluster APIs", FAIL, str(error))
    if missing:
        return Item("cluster APIs", FAIL, "; ".join(missing))
    return Item("cluster APIs", PASS, "the cluster serves " + ", ".join(sorted({need.kind for need in needs})))


def security_scan(config: StackConfig, project: str, stack: str) -> Item:
    from rdagent_policies import policy_config
    from rdagent_policies.manifest_check import check

    from rdagent_infra.synth import run_program, write_output

    with tempfile.TemporaryDirectory(prefix="rdagent-preflight-") as folder:
        out = Path(folder) / "synth"
        write_output(run_program(config, project, stack), out)
        levels, settings = policy_config.load(ROOT / "policies" / "config" / f"policy-config.{config.tier.value}.json")
        mandatory = [f for f in check([out], levels, settings) if f.level == "mandatory"]
        if mandatory:
            return Item("security scan", FAIL, f"{len(mandatory)} mandatory policy finding(s), first: {mandatory[0].line()}")
        if not CHECKOV.exists():
            return Item("security scan", FAIL, "policy pack: clean; checkov is not installed (make validators)")
        result = subprocess.run(
            [str(CHECKOV), "--config-file", str(ROOT / ".checkov.yaml"), "--output", "json", "--directory", str(out)],
            capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        )  # fmt: skip
        try:
            report = json.loads(result.stdout)
        except json.JSONDecodeError:
            return Item("security scan", FAIL, f"checkov did not report: {result.stderr.strip()[:200]}")
        report = report[0] if isinstance(report, list) else report
        summary = report["summary"]
        if summary["failed"]:
            first = report["results"]["failed_checks"][0]
            return Item("security scan", FAIL, f"checkov: {summary['failed']} failed, first {first['check_id']} on {first['resource']}")
        return Item(
            "security scan",
            PASS,
            f"policy pack: no mandatory findings; checkov: {summary['passed']} passed, 0 failed, {summary['skipped']} skipped with reasons",
        )


def live_cluster(config: StackConfig) -> ClusterApi | None:
    """The cluster of a kubeconfig-mode stack, read through its kubeconfig context."""
    if config.cluster.mode != "kubeconfig":
        return None
    from rdagent_infra.kube_api import KubeApi

    return KubeApi.from_context(config.cluster.kubeconfigContext).get


def platform_items(config: StackConfig, cluster: ClusterApi | None) -> list[Item]:
    try:
        cluster = cluster if cluster is not None else live_cluster(config)
        support = check_kubernetes_support(config, datetime.date.today())
        return [check_account(config), check_endpoint(config), support, check_gpu_capacity(config, cluster), check_cluster_addons(config, cluster)]
    except Exception as exc:  # the cluster did not answer: every item that reads it fails with why
        reason = f"cannot read the cluster (context {config.cluster.kubeconfigContext}): {exc}"
        support = check_kubernetes_support(config, datetime.date.today())
        return [check_account(config), check_endpoint(config), support, Item("GPU capacity", FAIL, reason), Item("cluster add-ons", FAIL, reason)]


def run_checklist(directory: Path, stack: str, scan: bool = True, cluster: ClusterApi | None = None) -> list[Item]:
    from rdagent_infra.stack_source import load_from_files

    try:
        config, project = load_from_files(directory, stack)
    except ConfigError as exc:
        secret_problems = [p for p in exc.problems if "rdagent:secrets." in p]
        items = [Item("configuration complete and valid", FAIL, "; ".join(exc.problems))]
        items.append(
            Item("secrets and certificates", FAIL, "; ".join(secret_problems))
            if secret_problems
            else Item("secrets and certificates", NA, "not checked: the configuration is invalid")
        )
        for name in ("rollback strategy", "alerts", "backups", "performance capacity", "security scan", *PLATFORM_ITEMS):
            items.append(Item(name, NA, "not checked: the configuration is invalid"))
        return items
    checks: list[Callable[[StackConfig], Item]] = [check_secrets, check_rollback, check_alerts, check_backups, check_capacity]
    items = [Item("configuration complete and valid", PASS, f"every rdagent: key of Pulumi.{stack}.yaml validates ({config.tier.value})")]
    items += [check(config) for check in checks]
    items.append(security_scan(config, project, stack) if scan else Item("security scan", NA, "skipped (--no-scan)"))
    items.append(Item("database migrations", NA, "RD-Agent reads no database (its state is its trace folders and workspaces): nothing to migrate"))
    if config.cluster.mode == "kubeconfig":  # a cluster to ask (render has none; eks mode creates it)
        items.append(check_cluster_apis(config))
    return items + platform_items(config, cluster)
