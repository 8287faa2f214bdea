"""An IAM role that one Kubernetes service account assumes (IRSA), with its policies."""

from __future__ import annotations

import pulumi

from components.cluster import Cluster
from rdagent_infra.logic.iam import irsa_trust_policy


class ServiceAccountRole(pulumi.ComponentResource):
    """Outputs: `arn`, `name`. `managed_policies`: AWS-managed policy ARNs; `inline_policy`: a JSON
    document (an Output is fine)."""

    def __init__(
        self,
        name: str,
        cluster: Cluster,
        namespace: str,
        service_account: str | tuple[str, ...],
        managed_policies: tuple[str, ...] = (),
        inline_policy: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:ServiceAccountRole", name, None, opts)
        import pulumi_aws as aws

        child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        trust = pulumi.Output.all(cluster.oidc_provider_arn, cluster.oidc_issuer).apply(
            lambda args: irsa_trust_policy(args[0], args[1], namespace, service_account)
        )
        role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, opts=child)
        self.attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-policy-{index}", role=role.name, policy_arn=arn, opts=child) for index, arn in enumerate(managed_policies)
        ]
        if inline_policy is not None:
            self.attachments.append(aws.iam.RolePolicy(f"{name}-inline", role=role.id, policy=inline_policy, opts=child))
        self.arn = role.arn
        self.name = role.name
        self.register_outputs({"arn": self.arn})
