"""The Secrets Store CSI driver and its AWS provider (ASCP) on EKS, from ASCP's chart, and the IAM
roles with which the UI's and the runs' pods read their secrets from Secrets Manager (see
rdagent_infra/logic/secrets_store.py for how a key reaches a container)."""

from __future__ import annotations

import pulumi

from components.cluster import Cluster
from components.helm import helm_release
from components.irsa import ServiceAccountRole
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.secrets_store import chart_values, read_policy


class SecretsStore(pulumi.ComponentResource):
    """Outputs: `roles` (ServiceAccount name -> role ARN), `release` (what pods mounting the volume wait for)."""

    def __init__(self, name: str, config: StackConfig, cluster: Cluster, accounts: tuple[str, ...], nodes: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:SecretsStore", name, None, opts)
        store = config.secretsStore
        child = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=nodes)
        self.release = helm_release(f"{name}-csi", "secrets-store-csi-aws", config.addons.secretsStoreCsiAws, chart_values(store.rotationPollSeconds), child)
        policy = read_policy([arn for _, arn in store.arns()], config.aws.region, store.kmsKeyArn)
        self.roles: dict[str, pulumi.Output[str]] = {}
        for account in accounts:
            role = ServiceAccountRole(f"{name}-{account}", cluster, config.namespace, account, inline_policy=policy, opts=pulumi.ResourceOptions(parent=self))
            self.roles[account] = role.arn
        self.register_outputs({"roles": self.roles})
