"""One ServiceAccount per workload (no token by default): a helper the components call, not a component."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.logic.pods import service_account_body


def workload_service_account(
    resource_name: str, name: str, namespace: str, account_labels: dict[str, str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.ServiceAccount:
    return k8s.core.v1.ServiceAccount(resource_name, **service_account_body(name, namespace, account_labels), opts=opts)
