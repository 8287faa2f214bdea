"""The application namespace: Pod Security `restricted`, and a default-deny network policy
that only lets DNS out; every other flow is opened by the component that needs it."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.logic.network import DNS_EGRESS, network_policy
from rdagent_infra.logic.pods import namespace_metadata


def pod_security_namespace(
    resource_name: str, namespace: str, level: str, parent: pulumi.Resource, provider: k8s.Provider, protect: bool, depends_on: list | None = None
) -> k8s.core.v1.Namespace:
    """A namespace that enforces the Pod Security `level`; kept (not deleted) when the stack protects its data."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=namespace_metadata(namespace, level),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, protect=protect, retain_on_delete=protect, depends_on=depends_on),
    )


class AppNamespace(pulumi.ComponentResource):
    """Outputs: `name`. `resource` is the Namespace object: what lives in it and must not be deleted
    on its own when the namespace goes too names it as `deleted_with`."""

    def __init__(
        self,
        name: str,
        namespace: str,
        provider: k8s.Provider,
        protect: bool = False,
        depends_on: list | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:AppNamespace", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        # depends_on: what must outlive the namespace on destroy (the runs' ClusterQueue).
        created = pod_security_namespace(f"{name}-namespace", namespace, "restricted", self, provider, protect, depends_on)
        self.name: pulumi.Output[str] = created.metadata.name
        self.resource = created
        in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[created]))
        deny = network_policy("default-deny", namespace, {}, ingress=[], egress=[])
        k8s.networking.v1.NetworkPolicy(f"{name}-default-deny", metadata=deny["metadata"], spec=deny["spec"], opts=in_namespace)
        dns = network_policy("allow-dns", namespace, {}, egress=[DNS_EGRESS])
        k8s.networking.v1.NetworkPolicy(f"{name}-allow-dns", metadata=dns["metadata"], spec=dns["spec"], opts=in_namespace)
        self.register_outputs({"name": self.name})
