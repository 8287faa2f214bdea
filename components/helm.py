"""A Helm release of a chart pinned in `rdagent:addons` (not a component: one resource)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.config import HelmChartConfig


def chart_reference(chart: HelmChartConfig) -> tuple[str, dict[str, str] | None]:
    """OCI charts are named by their full reference; HTTPS charts by name within a repository."""
    if chart.repository.startswith("oci://"):
        return f"{chart.repository.rstrip('/')}/{chart.chart}", None
    return chart.chart, {"repo": chart.repository}


def helm_release(
    name: str, release: str, chart: HelmChartConfig, values: dict[str, Any], opts: pulumi.ResourceOptions, skip_crds: bool = False
) -> k8s.helm.v3.Release:
    reference, repository = chart_reference(chart)
    return k8s.helm.v3.Release(
        name,
        name=release,
        chart=reference,
        version=chart.version,
        repository_opts=repository,
        namespace=chart.namespace,
        create_namespace=chart.namespace != "kube-system",
        atomic=True,
        cleanup_on_fail=True,
        max_history=10,
        timeout=900,
        values=values,
        **({"skip_crds": True} if skip_crds else {}),
        opts=opts,
    )
