"""One ServiceAccount per workload (no token by default): a helper the components call, not a component."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.logic.pods import service_account_body


def workload_service_account(
    resource_name: str,
    name: str,
    namespace: str,
    account_labels: dict[str, str],
    opts: pulumi.ResourceOptions,
    annotations: dict[str, pulumi.Input[str]] | None = None,
) -> k8s.core.v1.ServiceAccount:
    body = service_account_body(name, namespace, account_labels)
    if annotations:
        body["metadata"]["annotations"] = annotations
    return k8s.core.v1.ServiceAccount(resource_name, **body, opts=opts)
