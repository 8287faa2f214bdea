"""Karpenter: GPU nodes on demand, from zero. A pending pod that asks for `nvidia.com/gpu` and
tolerates the GPU taint makes Karpenter launch an instance of the GPU NodePool; an empty node is
removed again.

Why Karpenter and not the cluster autoscaler: Karpenter reads each instance type's GPUs from EC2
itself, so scale-from-zero needs no hand-kept node-template tags on an Auto Scaling group, and it
picks among several GPU instance types (and Spot) per pod. What it needs: a controller role (IRSA),
a node role with an EKS access entry, an SQS queue fed by EventBridge for Spot interruptions and
instance events, and `karpenter.sh/discovery` tags on the subnets and security group it launches into.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Cluster, assume_role_policy
from components.helm import helm_release
from components.irsa import ServiceAccountRole
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import karpenter as logic
from rdagent_infra.logic.iam import interruption_queue_policy, karpenter_controller_policy

NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
# The events Karpenter handles before AWS takes an instance away (its getting-started template).
INTERRUPTION_EVENTS = {
    "scheduled-change": {"source": ["aws.health"], "detail-type": ["AWS Health Event"]},
    "spot-interruption": {"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]},
    "rebalance": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance Rebalance Recommendation"]},
    "state-change": {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"]},
}


class Karpenter(pulumi.ComponentResource):
    """Outputs: `node_role_arn`, `queue_name`, `node_pool` (the GPU NodePool's name)."""

    def __init__(self, name: str, config: StackConfig, cluster: Cluster, nodes: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:Karpenter", name, None, opts)
        import pulumi_aws as aws

        child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        chart = config.addons.karpenter
        node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=child)
        for index, arn in enumerate(NODE_POLICIES):
            aws.iam.RolePolicyAttachment(f"{name}-node-policy-{index}", role=node_role.name, policy_arn=arn, opts=child)
        # Lets the nodes Karpenter launches join the cluster.
        aws.eks.AccessEntry(f"{name}-node-access", cluster_name=cluster.cluster_name, principal_arn=node_role.arn, type="EC2_LINUX", opts=child)
        self.node_role_arn = node_role.arn

        queue = self._interruption_queue(name, config, aws, child)
        self.queue_name = queue.name
        account = node_role.arn.apply(lambda arn: arn.split(":")[4])
        policy = pulumi.Output.all(cluster.cluster_name, account, node_role.arn, queue.arn).apply(
            lambda args: karpenter_controller_policy(args[0], config.aws.region, args[1], args[2], args[3])
        )
        controller = ServiceAccountRole(
            f"{name}-controller", cluster, chart.namespace, "karpenter", inline_policy=policy, opts=pulumi.ResourceOptions(parent=self)
        )
        tags = self._discovery_tags(name, cluster, aws, child)
        if config.gpu.pool.spot and config.gpu.createSpotServiceLinkedRole:
            # Karpenter's getting-started creates it by hand; Spot launches need it.
            tags.append(aws.iam.ServiceLinkedRole(f"{name}-spot-role", aws_service_name="spot.amazonaws.com", opts=child))

        values = pulumi.Output.all(cluster.cluster_name, queue.name, controller.arn).apply(lambda args: logic.chart_values(args[0], args[1], args[2]))
        # The CRDs from their own chart (Karpenter's upgrade guide): Helm never upgrades the CRDs a
        # chart carries in crds/, so with the main chart alone an upgrade would leave them stale.
        crds = helm_release(
            f"{name}-crd-chart",
            "karpenter-crd",
            chart.model_copy(update={"chart": f"{chart.chart}-crd"}),
            {},
            pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=nodes),
        )
        release = helm_release(
            f"{name}-chart",
            "karpenter",
            chart,
            values,
            pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[*nodes, *controller.attachments, *tags, crds]),
            skip_crds=True,
        )
        after_chart = pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[release])
        self._pool(name, logic.GPU_NODE_POOL, cluster, node_role, logic.gpu_node_class, logic.gpu_node_pool(config), config, after_chart)
        if config.gpu.cpuBurstMaxCpu:
            # CPU capacity that scales: the managed node group keeps the system pods (Karpenter itself
            # among them); this NodePool adds nodes for CPU runs that find no room.
            self._pool(name, logic.CPU_NODE_POOL, cluster, node_role, logic.cpu_node_class, logic.cpu_node_pool(config), config, after_chart)
        self.node_pool = logic.GPU_NODE_POOL
        self.register_outputs({"node_role_arn": self.node_role_arn, "queue_name": self.queue_name, "node_pool": self.node_pool})

    def _pool(self, name: str, pool: str, cluster: Cluster, node_role, class_spec, pool_spec: dict, config: StackConfig, opts) -> None:
        """An EC2NodeClass and the NodePool named `pool` that launches with it."""
        node_class = pulumi.Output.all(cluster.cluster_name, node_role.name).apply(lambda args: class_spec(config, args[0], args[1]))
        k8s.apiextensions.CustomResource(
            f"{name}-{pool}-node-class", api_version=logic.NODE_CLASS_API, kind="EC2NodeClass", metadata={"name": pool}, spec=node_class, opts=opts
        )
        k8s.apiextensions.CustomResource(
            f"{name}-{pool}-node-pool",
            api_version=logic.NODE_POOL_API,
            kind="NodePool",
            metadata={"name": pool, "labels": {"app.kubernetes.io/part-of": "rdagent"}},
            spec=pool_spec,
            opts=opts,
        )

    def _interruption_queue(self, name: str, config: StackConfig, aws, child: pulumi.ResourceOptions):
        queue = aws.sqs.Queue(
            f"{name}-interruptions",
            name=f"rdagent-{config.tier.value}-karpenter",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(f"{name}-interruptions-policy", queue_url=queue.id, policy=queue.arn.apply(interruption_queue_policy), opts=child)
        for event, pattern in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{event}", event_pattern=json.dumps(pattern), opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{event}-target", rule=rule.name, arn=queue.arn, target_id="KarpenterInterruptionQueueTarget", opts=child)
        return queue

    def _discovery_tags(self, name: str, cluster: Cluster, aws, child: pulumi.ResourceOptions) -> list:
        """`karpenter.sh/discovery` on the cluster security group (EKS makes it) and on subnets this
        program was given; subnets it makes carry the tag in their own `tags` (components/cluster.py)."""
        subnets = [] if cluster.owns_subnets else cluster.private_subnet_ids
        targets = [*subnets, cluster.cluster_security_group_id]
        labels = [f"subnet-{index}" for index in range(len(subnets))] + ["cluster-sg"]
        return [
            aws.ec2.Tag(f"{name}-discovery-{label}", resource_id=target, key=logic.DISCOVERY_TAG, value=cluster.cluster_name, opts=child)
            for label, target in zip(labels, targets, strict=True)
        ]
