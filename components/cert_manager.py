"""cert-manager and the issuer of the UI's certificate, on a cluster this stack creates (eks mode).

The stack's Certificate (components/gateway.py, components/rdagent_ui.py) names an issuer; on an
existing cluster that issuer is the cluster's (preflight checks the API). On EKS nothing is there
before the first `up`, so the program installs cert-manager (pinned chart, CRDs included) and
creates the issuer: ACME (`certManager.acmeServer`, Let's Encrypt's by default), account key in a
Secret of cert-manager's namespace, HTTP-01 solved through the UI's route: an HTTPRoute on the
Gateway's HTTP listener with gatewayApi (cert-manager's Gateway API support is turned on), an
Ingress of the stack's ingress class otherwise.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from rdagent_infra.config import StackConfig

CHART_VALUES = {
    "crds": {"enabled": True},
    "config": {"apiVersion": "controller.config.cert-manager.io/v1alpha1", "kind": "ControllerConfiguration", "enableGatewayAPI": True},
}


def issuer_body(config: StackConfig) -> dict[str, Any]:
    """The issuer named by `workloads.ui.ingress.certManager` (pure)."""
    ingress = config.workloads.ui.ingress
    issuer = ingress.certManager
    if ingress.kind == "gatewayApi":
        parent = {"name": ingress.gatewayName, "namespace": ingress.gatewayNamespace, "kind": "Gateway", "sectionName": "http"}
        solver = {"http01": {"gatewayHTTPRoute": {"parentRefs": [parent]}}}
    else:
        solver = {"http01": {"ingress": {"ingressClassName": ingress.ingressClassName}}}
    metadata: dict[str, Any] = {"name": issuer.issuer, "labels": {"app.kubernetes.io/part-of": "rdagent"}}
    if issuer.issuerKind == "Issuer":
        metadata["namespace"] = ingress.gatewayNamespace if ingress.kind == "gatewayApi" else config.namespace
    return {
        "metadata": metadata,
        "spec": {
            "acme": {
                "server": issuer.acmeServer,
                "email": issuer.acmeEmail,
                "privateKeySecretRef": {"name": f"{issuer.issuer}-acme-account"},
                "solvers": [solver],
            }
        },
    }


class CertManager(pulumi.ComponentResource):
    """Outputs: `ready` (what a Certificate waits for: the chart and the issuer)."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, nodes: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:CertManager", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        release = helm_release(
            f"{name}-chart",
            "cert-manager",
            config.addons.certManager,
            CHART_VALUES,
            pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=nodes)),
        )
        body = issuer_body(config)
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version="cert-manager.io/v1",
            kind=config.workloads.ui.ingress.certManager.issuerKind,
            metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release])),
        )
        self.ready = [release, issuer]
        self.register_outputs({})
