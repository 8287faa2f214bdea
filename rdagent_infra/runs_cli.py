"""`rdagent-infra runs status --stack S [--json]`: each batch run's state (queued, admitted, running,
finished), its node, and why a run that does not run waits (rdagent_infra/logic/run_status.py),
read from the stack's cluster with the kubeconfig (KUBECONFIG or ~/.kube/config). Exit statuses:
0 read, 2 bad input, 3 the cluster could not be read."""

from __future__ import annotations

import json
from typing import Annotated

import typer
import urllib3

from rdagent_infra.cli_common import EXIT_UNAVAILABLE, StackOption, fail, load_stack
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.karpenter import cluster_name_of
from rdagent_infra.logic.queue import API_VERSION as QUEUE_API
from rdagent_infra.logic.run_status import RunStatus, run_states

runs_app = typer.Typer(no_args_is_help=True, help="The stack's batch runs on its cluster.")
ContextOption = Annotated[str | None, typer.Option("--context", help="kubeconfig context (default: the stack's).")]


def stack_context(config: StackConfig) -> str:
    """The kubeconfig context of the stack's cluster: the configured one, or on EKS the name
    `aws eks update-kubeconfig` gives it (the cluster's ARN)."""
    if config.cluster.mode == "kubeconfig":
        return config.cluster.kubeconfigContext or ""
    if not config.aws.accountId:
        fail(["rdagent:aws.accountId is not set, so the EKS cluster's kubeconfig context is unknown: pass --context"])
    return f"arn:aws:eks:{config.aws.region}:{config.aws.accountId}:cluster/{cluster_name_of(config)}"


def read_states(config: StackConfig, context: str) -> list[RunStatus]:
    from kubernetes.config.config_exception import ConfigException

    from rdagent_infra.kube_api import KubeApi, KubeApiError

    namespace = config.namespace
    try:
        api = KubeApi.from_context(context)
    except (ConfigException, OSError) as error:
        fail([f"cannot load the kubeconfig context {context!r}: {error}"], EXIT_UNAVAILABLE)
    try:
        with api.client:
            jobs = (api.get(f"/apis/batch/v1/namespaces/{namespace}/jobs") or {}).get("items", [])
            pods = (api.get(f"/api/v1/namespaces/{namespace}/pods", {"labelSelector": "app.kubernetes.io/component=run"}) or {}).get("items", [])
            events = (api.get(f"/api/v1/namespaces/{namespace}/events", {"fieldSelector": "reason=FailedScheduling"}) or {}).get("items", [])
            workloads = (api.get(f"/apis/{QUEUE_API}/namespaces/{namespace}/workloads") or {}).get("items", []) if config.queue_enabled() else None
    except (KubeApiError, OSError, urllib3.exceptions.HTTPError) as error:
        fail([f"cannot read the runs of namespace {namespace} from the cluster (context {context!r}): {error}"], EXIT_UNAVAILABLE)
    return run_states({run.name: run.schedule for run in config.workloads.runs}, jobs, pods, events, workloads)


@runs_app.command("status")
def runs_status(
    stack: StackOption,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run's Job, in a list.")] = False,
    context: ContextOption = None,
) -> None:
    """Each batch run's state (queued, admitted, running, finished), node, and why it waits."""
    config = load_stack(stack)
    if config.cluster.mode == "render":
        fail([f"rdagent:cluster.mode render: the {stack} stack renders YAML and has no cluster to read runs from"])
    rows = read_states(config, context or stack_context(config))
    if as_json:
        typer.echo(json.dumps([row.as_json() for row in rows], indent=2))
        return
    headers = ("RUN", "JOB", "STATE", "NODE", "WHY")
    table = [headers, *((row.run, row.job or "-", row.state, row.node or "-", row.why or "-") for row in rows)]
    widths = [max(len(line[column]) for line in table) for column in range(len(headers) - 1)]
    for line in table:
        typer.echo("  ".join([cell.ljust(width) for cell, width in zip(line, widths, strict=False)] + [line[-1]]))
