"""Sign-in in front of an exposed UI: oauth2-proxy, one Deployment and Service per routed UI Service.

The route (HTTPRoute or Ingress) sends its weighted traffic to the proxies' Services, and each proxy
sends the signed-in requests on to its own track's UI Service (`--upstream`). One proxy per routed
Service, not one proxy in front of every track, because the rollout gates read the traffic where
the weights apply:

- with ingress-nginx, the controller labels each request with the backend the canary weight chose
  (`canary="<ns>-<service>-80"`); a single proxy would be the only backend and the canary's share
  would vanish from the controller's metrics. With a proxy per track the label names the new
  track's proxy Service (`routed_service`), which the gates match.
- with the Envoy sidecar, each UI pod measures the requests it serves whoever sends them; the
  proxies change nothing there (sign-in redirects never reach the UI, so they count in no gate).

Every proxy shares one client and one cookie secret, so a session started on one track's proxy is
valid on the other's (a user whose requests the weights split keeps being signed in), and the OIDC
callback may land on either.
"""

from __future__ import annotations

from typing import Any

from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.network import DNS_EGRESS, HTTPS_PORT, allow_to, network_policy
from rdagent_infra.logic.pods import container_security_context, http_probe, labels, pod_security_context, selector, simple_resources
from rdagent_infra.logic.rollout import APP, RolloutPlan

AUTH_COMPONENT = "auth"
AUTH_SECRET = f"{APP}-auth"
UPSTREAM_LABEL = "rdagent.io/upstream"
SERVICE_PORT = 80
INGRESS_TLS_SECRET = f"{APP}-ingress-tls"
CLIENT_SECRET_KEY = "client-secret"
COOKIE_SECRET_KEY = "cookie-secret"


def auth_enabled(config: StackConfig) -> bool:
    return config.workloads.ui.ingress.auth.enabled


def routed_service(config: StackConfig, service: str) -> str:
    """The Service the route sends `service`'s share to: its proxy when sign-in is on."""
    return f"{service}-{AUTH_COMPONENT}" if auth_enabled(config) else service


def route_backends(config: StackConfig, plan: RolloutPlan) -> dict[str, int]:
    """The route's backends (Service -> weight): the plan's weights, or all traffic to the primary Service."""
    return {routed_service(config, service): weight for service, weight in (plan.weights or {plan.primary_service: 100}).items()}


def proxied_services(config: StackConfig, plan: RolloutPlan) -> list[str]:
    """The UI Services that get a proxy: those the route sends to (none when there is no route or no sign-in)."""
    if not auth_enabled(config) or not (config.workloads.ui.ingress.enabled or plan.weights):
        return []
    return list(plan.weights or {plan.primary_service: 100})


def tls_secret_name(config: StackConfig, kind: str) -> str:
    """The kubernetes.io/tls Secret the Gateway listener (`gatewayApi`) or the Ingress (`ingress`) serves."""
    ingress = config.workloads.ui.ingress
    if ingress.tlsSecretName:
        return ingress.tlsSecretName
    return f"{ingress.gatewayName}-tls" if kind == "gatewayApi" else INGRESS_TLS_SECRET


def certificate(config: StackConfig, kind: str, namespace: str) -> dict[str, Any] | None:
    """The cert-manager Certificate that fills the TLS Secret, when an issuer is configured."""
    ingress = config.workloads.ui.ingress
    if not ingress.tls or ingress.certManager is None:
        return None
    issuer = ingress.certManager
    name = tls_secret_name(config, kind)
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels(APP, "tls")},
        "spec": {
            "secretName": name,
            "dnsNames": [ingress.host],
            "issuerRef": {"name": issuer.issuer, "kind": issuer.issuerKind, "group": "cert-manager.io"},
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        },
    }


def proxy_selector(service: str) -> dict[str, str]:
    return {**selector(APP, AUTH_COMPONENT), UPSTREAM_LABEL: service}


def trusted_proxy_cidrs(config: StackConfig) -> list[str]:
    """Whose X-Forwarded-* headers the proxy believes (`--reverse-proxy` trusts everyone otherwise):
    the configured CIDRs, or the VPC of an EKS cluster the program builds (pods take VPC addresses)."""
    configured = config.workloads.ui.ingress.auth.trustedProxyCidrs
    if configured:
        return configured
    eks = config.cluster.eks
    return [eks.vpcCidr] if config.cluster.mode == "eks" and not eks.existingVpcId else []


def oauth2_proxy_args(config: StackConfig, upstream_service: str) -> list[str]:
    """oauth2-proxy's command line for the proxy in front of `upstream_service` (secrets come from env)."""
    ingress = config.workloads.ui.ingress
    auth = ingress.auth
    scheme = "https" if ingress.tls else "http"
    domains = auth.emailDomains or ["*"]  # groups alone decide: any e-mail, but only members of allowedGroups
    return [
        f"--http-address=0.0.0.0:{seed.OAUTH2_PROXY_PORT}",
        "--provider=oidc",
        f"--oidc-issuer-url={auth.oidcIssuerUrl}",
        f"--client-id={auth.clientId}",
        f"--redirect-url={scheme}://{ingress.host}/oauth2/callback",
        f"--upstream=http://{upstream_service}.{config.namespace}.svc.cluster.local:{SERVICE_PORT}/",
        *(f"--email-domain={domain}" for domain in domains),
        *(f"--allowed-group={group}" for group in auth.allowedGroups),
        f"--oidc-groups-claim={auth.groupsClaim}",
        "--scope=openid email profile",
        "--code-challenge-method=S256",
        f"--cookie-secure={'true' if ingress.tls else 'false'}",
        "--cookie-name=_rdagent_auth",
        "--cookie-samesite=lax",
        "--reverse-proxy=true",
        *(f"--trusted-proxy-ip={cidr}" for cidr in trusted_proxy_cidrs(config)),
        "--skip-provider-button=true",
        "--silence-ping-logging=true",
        # Streamlit holds one websocket open for a whole session.
        "--proxy-websockets=true",
    ]


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": AUTH_SECRET, "key": key}}}


def proxy_pod_template(config: StackConfig, service: str) -> dict[str, Any]:
    auth = config.workloads.ui.ingress.auth
    uid = seed.OAUTH2_PROXY_UID
    return {
        "metadata": {"labels": {**labels(APP, AUTH_COMPONENT), UPSTREAM_LABEL: service}},
        "spec": {
            "serviceAccountName": AUTH_SECRET,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(uid, uid),
            "containers": [
                {
                    "name": "oauth2-proxy",
                    "image": auth.image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": oauth2_proxy_args(config, service),
                    "env": [
                        _secret_env("OAUTH2_PROXY_CLIENT_SECRET", CLIENT_SECRET_KEY),
                        _secret_env("OAUTH2_PROXY_COOKIE_SECRET", COOKIE_SECRET_KEY),
                    ],
                    "ports": [{"name": "http", "containerPort": seed.OAUTH2_PROXY_PORT, "protocol": "TCP"}],
                    "resources": simple_resources("50m", "64Mi", "500m", "128Mi"),
                    "securityContext": container_security_context(uid, uid),
                    "readinessProbe": http_probe("/ready", "http", 0, 10),
                    "livenessProbe": http_probe("/ping", "http", 0, 20),
                }
            ],
        },
    }


def proxy_policy(config: StackConfig, ui_port: int) -> dict[str, Any]:
    """The proxies take requests on their port from anywhere (they are the door, and sign users in),
    and connect only to DNS, the UI pods and the OIDC provider."""
    auth = config.workloads.ui.ingress.auth
    provider = {"to": [{"ipBlock": {"cidr": cidr}} for cidr in auth.egressCidrs], "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]}
    return network_policy(
        f"{APP}-{AUTH_COMPONENT}",
        config.namespace,
        selector(APP, AUTH_COMPONENT),
        ingress=[{"ports": [{"protocol": "TCP", "port": seed.OAUTH2_PROXY_PORT}]}],
        egress=[DNS_EGRESS, allow_to(selector(APP, "ui"), ui_port), provider],
    )
