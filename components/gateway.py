"""The Gateway our HTTPRoutes attach to, and what serves it: Envoy Gateway (its chart installs the
Gateway API CRDs too), a GatewayClass for it, and the Gateway `workloads.ui.ingress.gatewayName` in
`gatewayNamespace` with an HTTP listener and, with TLS, an HTTPS listener named `gatewayListener`.

Envoy Gateway because its Envoy proxies report per-backend request counts and latencies (Envoy's
cluster statistics, one cluster per route backend), which the canary gates compare between the
stable and the canary Service.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.ui_auth import certificate, tls_secret_name

CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_API = "gateway.networking.k8s.io/v1"


def gateway_spec(config: StackConfig) -> dict:
    ingress = config.workloads.ui.ingress
    # Only routes from the application's namespace may attach.
    allowed = {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": config.namespace}}}}
    listeners = [{"name": "http", "protocol": "HTTP", "port": 80, "hostname": ingress.host, "allowedRoutes": allowed}]
    if ingress.tls:
        listeners.append(
            {
                "name": ingress.gatewayListener,
                "protocol": "HTTPS",
                "port": 443,
                "hostname": ingress.host,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": tls_secret_name(config, "gatewayApi")}]},
                "allowedRoutes": allowed,
            }
        )
    return {"gatewayClassName": config.addons.gatewayClassName, "listeners": listeners}


class GatewayController(pulumi.ComponentResource):
    """Outputs: `gateway` (namespace/name)."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        provider: k8s.Provider,
        nodes: list,
        certificate_after: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`certificate_after`: what the Certificate waits for (cert-manager and its issuer, components/cert_manager.py)."""
        super().__init__("rdagent:index:GatewayController", name, None, opts)
        ingress = config.workloads.ui.ingress
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        release = helm_release(
            f"{name}-envoy-gateway", "eg", config.addons.envoyGateway, {}, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=nodes))
        )
        after_crds = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release]))
        gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-class",
            api_version=GATEWAY_API,
            kind="GatewayClass",
            metadata={"name": config.addons.gatewayClassName},
            spec={"controllerName": CONTROLLER_NAME},
            opts=after_crds,
        )
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": ingress.gatewayNamespace, "labels": {"app.kubernetes.io/part-of": "rdagent", "pod-security.kubernetes.io/enforce": "restricted"}},
            opts=child,
        )
        depends = [release, gateway_class, namespace]
        secrets = config.secrets
        if ingress.tls and secrets.tlsCertificate is not None and secrets.tlsPrivateKey is not None:
            depends.append(
                k8s.core.v1.Secret(
                    f"{name}-tls",
                    metadata={"name": tls_secret_name(config, "gatewayApi"), "namespace": ingress.gatewayNamespace},
                    type="kubernetes.io/tls",
                    string_data={
                        "tls.crt": pulumi.Output.secret(secrets.tlsCertificate.value),
                        "tls.key": pulumi.Output.secret(secrets.tlsPrivateKey.value),
                    },
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace])),
                )
            )
        issued = certificate(config, "gatewayApi", ingress.gatewayNamespace)
        if issued is not None:
            depends.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-certificate",
                    api_version="cert-manager.io/v1",
                    kind="Certificate",
                    metadata=issued["metadata"],
                    spec=issued["spec"],
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace, *(certificate_after or [])])),
                )
            )
        k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=GATEWAY_API,
            kind="Gateway",
            metadata={"name": ingress.gatewayName, "namespace": ingress.gatewayNamespace},
            spec=gateway_spec(config),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)),
        )
        self.gateway = f"{ingress.gatewayNamespace}/{ingress.gatewayName}"
        self.register_outputs({"gateway": self.gateway})
