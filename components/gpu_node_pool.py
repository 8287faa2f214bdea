"""The EKS managed CPU node group and the NVIDIA device plugin that advertises `nvidia.com/gpu` on
the GPU nodes. GPU nodes themselves come from Karpenter, from zero (components/karpenter.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from rdagent_policies.rules import EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION

from components.cluster import Cluster, assume_role_policy
from components.service_account import workload_service_account
from rdagent_infra import defaults as seed
from rdagent_infra.config import NodePoolConfig, StackConfig
from rdagent_infra.logic.pods import checkov_skips, simple_resources, with_service_account

NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
GPU_POOL_LABEL = {"rdagent.io/pool": "gpu"}


def node_group_args(pool: NodePoolConfig, extra_labels: dict[str, str]) -> dict:
    """The node group's arguments; its root disk is in its launch template (node_launch_template_args)."""
    return {
        "instance_types": list(pool.instanceTypes),
        "capacity_type": "SPOT" if pool.spot else "ON_DEMAND",
        "scaling_config": {"min_size": pool.minSize, "desired_size": pool.desiredSize, "max_size": pool.maxSize},
        "update_config": {"max_unavailable": 1},
        "labels": {**pool.labels, **extra_labels},
    }


def node_launch_template_args(pool: NodePoolConfig) -> dict:
    """The CPU nodes' launch template: an encrypted gp3 root disk (the account's aws/ebs key, whatever the
    account's EBS default says) and IMDSv2 only, one hop, so pods cannot take the node role's credentials
    (as on the GPU nodes, rdagent_infra/logic/karpenter.py). AL2023's root device is /dev/xvda."""
    return {
        "block_device_mappings": [
            {
                "device_name": "/dev/xvda",
                "ebs": {"volume_size": pool.diskSizeGb, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"},
            }
        ],
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
        "update_default_version": True,
    }


def device_plugin_daemonset(namespace: str, image: str) -> dict:
    """The NVIDIA device plugin: only on GPU nodes, tolerating their taint, least privilege.

    It needs the kubelet's device-plugin socket folder (a hostPath) and nothing else from the
    host; it runs as root because the kubelet's socket folder is root-owned.
    """
    return {
        "metadata": {
            "name": "nvidia-device-plugin",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "nvidia-device-plugin"},
            "annotations": {
                EXEMPT_ANNOTATION: "run-as-non-root,no-host-path-volumes",
                EXEMPT_REASON_ANNOTATION: "registers with the kubelet through the root-owned socket folder /var/lib/kubelet/device-plugins",
                **checkov_skips(
                    {
                        "CKV_K8S_23": "registers with the kubelet through a root-owned socket folder",
                        "CKV_K8S_40": "registers with the kubelet through a root-owned socket folder",
                        "CKV_K8S_8": "serves no HTTP endpoint; the kubelet drops its devices when it exits",
                        "CKV_K8S_9": "serves no HTTP endpoint; the kubelet drops its devices when it exits",
                    }
                ),
            },
        },
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "nvidia-device-plugin"}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "nvidia-device-plugin"}},
                "spec": {
                    "priorityClassName": "system-node-critical",
                    "nodeSelector": GPU_POOL_LABEL,
                    "tolerations": [
                        {"key": seed.GPU_TAINT_KEY, "operator": "Exists", "effect": seed.GPU_TAINT_EFFECT},
                    ],
                    "automountServiceAccountToken": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "nvidia-device-plugin",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "privileged": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "resources": simple_resources("50m", "64Mi", "200m", "128Mi"),
                            "volumeMounts": [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}],
                        }
                    ],
                    "volumes": [{"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": "Directory"}}],
                },
            },
        },
    }


class GpuNodePool(pulumi.ComponentResource):
    """The always-on CPU node group (system pods, Karpenter's controller, the UI) and, with GPUs on,
    the NVIDIA device plugin for the GPU nodes Karpenter launches (components/karpenter.py).

    Outputs: `node_role_arn`, `nodes` (the node groups, for what must wait for nodes)."""

    def __init__(self, name: str, config: StackConfig, cluster: Cluster, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:GpuNodePool", name, None, opts)
        import pulumi_aws as aws

        child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        gpu = config.gpu
        role = aws.iam.Role(f"{name}-node-role", assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-policy-{index}", role=role.name, policy_arn=arn, opts=child) for index, arn in enumerate(NODE_POLICIES)
        ]
        self.node_role_arn = role.arn
        after_policies = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=attachments))

        template = aws.ec2.LaunchTemplate(f"{name}-cpu-template", **node_launch_template_args(gpu.cpuPool), opts=child)
        cpu = aws.eks.NodeGroup(
            f"{name}-cpu",
            cluster_name=cluster.cluster_name,
            node_role_arn=role.arn,
            subnet_ids=cluster.private_subnet_ids,
            ami_type="AL2023_x86_64_STANDARD",
            # The cluster's version: a move of cluster.eks.version moves the nodes after the control
            # plane (without it the group keeps the version it was made with).
            version=cluster.kubernetes_version,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            **node_group_args(gpu.cpuPool, {"rdagent.io/pool": "cpu"}),
            opts=after_policies,
        )
        self.nodes = [cpu]
        if gpu.enabled:
            manifest = with_service_account(device_plugin_daemonset("kube-system", gpu.devicePluginImage), "nvidia-device-plugin")
            in_cluster = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
            workload_service_account(
                f"{name}-device-plugin-account", "nvidia-device-plugin", "kube-system", {"app.kubernetes.io/name": "nvidia-device-plugin"}, in_cluster
            )
            k8s.apps.v1.DaemonSet(
                f"{name}-device-plugin",
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider),
            )
        self.register_outputs({"node_role_arn": self.node_role_arn})
