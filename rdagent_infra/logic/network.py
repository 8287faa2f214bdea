"""NetworkPolicy builders: the bodies of the policies the components create, and the egress
RD-Agent's own pods get. The namespace denies every flow by default; each component opens
the flows it needs with these."""

from __future__ import annotations

from typing import Any

from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.llm_gateway import APP as GATEWAY_APP
from rdagent_infra.logic.llm_gateway import COMPONENT as GATEWAY_COMPONENT
from rdagent_infra.logic.llm_gateway import PORT as GATEWAY_PORT
from rdagent_infra.logic.pods import selector

DATABASE_PORT = 5432
HTTPS_PORT = 443


def network_policy(name: str, namespace: str, pod_selector: dict, *, ingress: list | None = None, egress: list | None = None) -> dict:
    """A NetworkPolicy body: each direction given is enforced (None leaves it open)."""
    policy_types = [kind for kind, rules in (("Ingress", ingress), ("Egress", egress)) if rules is not None]
    spec: dict = {"podSelector": {"matchLabels": pod_selector} if pod_selector else {}, "policyTypes": policy_types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def allow_to(pod_labels: dict, port: int, namespace_labels: dict | None = None) -> dict:
    peer: dict = {"podSelector": {"matchLabels": pod_labels}}
    if namespace_labels is not None:
        peer["namespaceSelector"] = {"matchLabels": namespace_labels}
    return {"to": [peer], "ports": [{"protocol": "TCP", "port": port}]}


def allow_from(pod_labels: dict, port: int) -> dict:
    return {"from": [{"podSelector": {"matchLabels": pod_labels}}], "ports": [{"protocol": "TCP", "port": port}]}


DNS_EGRESS = {
    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}


def redis_egress(config: StackConfig) -> dict:
    """The way to Redis: its pods in the cluster, or ElastiCache in the cluster's VPC."""
    if config.redis.mode == "inCluster":
        return allow_to(selector("redis", "cache"), seed.REDIS_PORT)
    return {"to": [{"ipBlock": {"cidr": config.cluster.eks.vpcCidr}}], "ports": [{"protocol": "TCP", "port": seed.REDIS_PORT}]}


def app_egress(config: StackConfig) -> list[dict]:
    """Where RD-Agent's pods may connect: DNS, Redis, Logstash, the LLM gateway, and the LLM (without a gateway), Kaggle's and
    database endpoints."""
    rules = [DNS_EGRESS, redis_egress(config)]
    if config.logging.enabled:
        rules.append(allow_to(selector("logstash", "logging"), seed.LOGSTASH_PORT))
    if config.llm.gateway.enabled:
        rules.append(allow_to(selector(GATEWAY_APP, GATEWAY_COMPONENT), GATEWAY_PORT))
    external = [{"ipBlock": {"cidr": cidr}} for cidr in config.llm.egressCidrs]
    rules.append({"to": external, "ports": [{"protocol": "TCP", "port": HTTPS_PORT}, {"protocol": "TCP", "port": DATABASE_PORT}]})
    return rules


def gateway_rules(*, redis_rule: dict[str, Any], provider_cidrs: list[str], provider_ports: list[int], scraped_from: dict[str, Any] | None) -> dict[str, list]:
    """Who reaches the proxy (RD-Agent's pods, and Prometheus where it scrapes), and what it reaches:
    DNS, Redis and the providers."""
    ingress = [allow_from({"app.kubernetes.io/part-of": "rdagent"}, GATEWAY_PORT)]
    if scraped_from is not None:
        ingress.append({"from": [scraped_from], "ports": [{"protocol": "TCP", "port": GATEWAY_PORT}]})
    providers = {"to": [{"ipBlock": {"cidr": cidr}} for cidr in provider_cidrs], "ports": [{"protocol": "TCP", "port": port} for port in provider_ports]}
    return {"ingress": ingress, "egress": [DNS_EGRESS, redis_rule, providers]}
