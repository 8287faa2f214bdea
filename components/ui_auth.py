"""Sign-in in front of the UI: oauth2-proxy Deployments and Services (one per routed UI Service), the
Secret with their client and cookie secrets, their ServiceAccount (no token), disruption budgets and
the network policy that lets them reach only DNS, the UI pods and the OIDC provider.

Which Services get a proxy and what each runs is decided in `rdagent_infra.logic.ui_auth`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.config import StackConfig
from rdagent_infra.logic import ui_auth
from rdagent_infra.logic.pods import labels
from rdagent_infra.logic.rollout import APP, RolloutPlan


class UiAuthProxy(pulumi.ComponentResource):
    """Outputs: `services` (the proxies' Service names, the route's backends)."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, plan: RolloutPlan, ui_port: int, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:UiAuthProxy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = config.namespace
        auth = config.workloads.ui.ingress.auth
        secrets = config.secrets
        meta = {"name": ui_auth.AUTH_SECRET, "namespace": namespace, "labels": labels(APP, ui_auth.AUTH_COMPONENT)}
        k8s.core.v1.ServiceAccount(f"{name}-account", metadata=meta, automount_service_account_token=False, opts=child)
        client, cookie = secrets.oauth2ClientSecret, secrets.oauth2CookieSecret
        if client is None or cookie is None:
            raise ValueError("workloads.ui.ingress.auth needs secrets.oauth2ClientSecret and oauth2CookieSecret (the config checks this)")
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=meta,
            type="Opaque",
            string_data={
                ui_auth.CLIENT_SECRET_KEY: pulumi.Output.secret(client.value),
                ui_auth.COOKIE_SECRET_KEY: pulumi.Output.secret(cookie.value),
            },
            opts=child,
        )
        after_secret = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[secret]))
        self.services: list[str] = []
        for upstream in ui_auth.proxied_services(config, plan):
            proxy = ui_auth.routed_service(config, upstream)
            match = ui_auth.proxy_selector(upstream)
            proxy_labels = {**labels(APP, ui_auth.AUTH_COMPONENT), ui_auth.UPSTREAM_LABEL: upstream}
            k8s.apps.v1.Deployment(
                f"{name}-{proxy}",
                metadata={"name": proxy, "namespace": namespace, "labels": proxy_labels},
                spec={
                    "replicas": auth.replicas,
                    "revisionHistoryLimit": 5,
                    "selector": {"matchLabels": match},
                    "template": ui_auth.proxy_pod_template(config, upstream),
                },
                opts=after_secret,
            )
            k8s.core.v1.Service(
                f"{name}-svc-{proxy}",
                metadata={"name": proxy, "namespace": namespace, "labels": proxy_labels},
                spec={
                    "type": "ClusterIP",
                    "selector": match,
                    "ports": [{"name": "http", "port": ui_auth.SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
                },
                opts=child,
            )
            if auth.replicas > 1:
                k8s.policy.v1.PodDisruptionBudget(
                    f"{name}-pdb-{proxy}",
                    metadata={"name": proxy, "namespace": namespace, "labels": proxy_labels},
                    spec={"minAvailable": 1, "selector": {"matchLabels": match}},
                    opts=child,
                )
            self.services.append(proxy)
        policy = ui_auth.proxy_policy(config, ui_port)
        k8s.networking.v1.NetworkPolicy(f"{name}-policy", metadata=policy["metadata"], spec=policy["spec"], opts=child)
        self.register_outputs({"services": self.services})
