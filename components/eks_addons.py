"""The EKS add-ons the program manages, at the versions pinned in `rdagent:addons.eks` or else AWS's
default for the cluster's Kubernetes version (`Cluster.addon_version`): the VPC CNI
(with NetworkPolicy enforcement on: `enableNetworkPolicy`), CoreDNS, kube-proxy and metrics-server
(the HorizontalPodAutoscaler reads CPU from it).

EKS installs the VPC CNI, CoreDNS and kube-proxy itself as self-managed add-ons when it creates a
cluster; declaring them here adopts them (conflicts resolved by overwriting) and pins them.
"""

from __future__ import annotations

import json

import pulumi

from components.cluster import Cluster
from rdagent_infra.config import StackConfig


def vpc_cni_configuration(config: StackConfig) -> str:
    """The VPC CNI's configuration values: its network policy agent enforces NetworkPolicy objects."""
    return json.dumps({"enableNetworkPolicy": "true" if config.addons.networkPolicy else "false"})


class EksAddons(pulumi.ComponentResource):
    """Outputs: `names` (the add-ons declared)."""

    def __init__(self, name: str, config: StackConfig, cluster: Cluster, nodes: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:EksAddons", name, None, opts)
        import pulumi_aws as aws

        versions = config.addons.eks
        child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        # CoreDNS and metrics-server run as pods: they become healthy only once nodes exist.
        on_nodes = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=nodes))
        addons = (
            ("vpc-cni", versions.vpcCni, vpc_cni_configuration(config), child),
            ("kube-proxy", versions.kubeProxy, None, child),
            ("coredns", versions.coreDns, None, on_nodes),
            ("metrics-server", versions.metricsServer, None, on_nodes),
        )
        self.names: list[str] = []
        for addon, version, values, options in addons:
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=cluster.cluster_name,
                addon_name=addon,
                addon_version=cluster.addon_version(addon, version),
                configuration_values=values,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=options,
            )
            self.names.append(addon)
        self.register_outputs({"names": self.names})
