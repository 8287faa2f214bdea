"""The application namespace: Pod Security `restricted`, and a default-deny network policy
that only lets DNS out; every other flow is opened by the component that needs it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s


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


class AppNamespace(pulumi.ComponentResource):
    """Outputs: `name`."""

    def __init__(self, name: str, namespace: str, provider: k8s.Provider, protect: bool = False, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:AppNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        created = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "app.kubernetes.io/part-of": "rdagent",
                },
            },
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=protect, retain_on_delete=protect),
        )
        self.name: pulumi.Output[str] = created.metadata.name
        in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[created]))
        deny = network_policy("default-deny", namespace, {}, ingress=[], egress=[])
        k8s.networking.v1.NetworkPolicy(f"{name}-default-deny", metadata=deny["metadata"], spec=deny["spec"], opts=in_namespace)
        dns = network_policy("allow-dns", namespace, {}, egress=[DNS_EGRESS])
        k8s.networking.v1.NetworkPolicy(f"{name}-allow-dns", metadata=dns["metadata"], spec=dns["spec"], opts=in_namespace)
        self.register_outputs({"name": self.name})
