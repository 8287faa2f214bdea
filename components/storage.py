"""Storage on EKS: the EBS CSI driver with an encrypted gp3 class made the cluster default
(ReadWriteOnce claims), and the EFS CSI driver with a file system, one mount target per private
subnet and its class (ReadWriteMany claims: the UI cache, the Elasticsearch snapshot repository).

Each driver runs as an EKS add-on under its own IAM role (IRSA). Without EKS nothing is created:
claims name the cluster's own classes (`rdagent:storage`) and preflight checks they exist.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import Cluster
from components.irsa import ServiceAccountRole
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import storage as logic
from rdagent_infra.logic.iam import ebs_kms_policy

EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EFS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
NFS_PORT = 2049


def storage_class(name: str, manifest: dict, opts: pulumi.ResourceOptions) -> k8s.storage.v1.StorageClass:
    return k8s.storage.v1.StorageClass(
        name,
        metadata=manifest["metadata"],
        provisioner=manifest["provisioner"],
        parameters=manifest["parameters"],
        reclaim_policy=manifest["reclaimPolicy"],
        volume_binding_mode=manifest["volumeBindingMode"],
        allow_volume_expansion=manifest.get("allowVolumeExpansion"),
        opts=opts,
    )


class Storage(pulumi.ComponentResource):
    """Outputs: `block_class`, `shared_class` (names), `file_system_id` (EFS, or None)."""

    def __init__(self, name: str, config: StackConfig, cluster: Cluster, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:Storage", name, None, opts)
        import pulumi_aws as aws

        self.block_class = logic.block_class(config)
        self.shared_class = logic.shared_class(config)
        self.file_system_id = None
        self.classes: list[k8s.storage.v1.StorageClass] = []
        aws_child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        k8s_child = pulumi.ResourceOptions(parent=self, provider=cluster.provider)
        versions = config.addons.eks

        key = config.storage.ebs.kmsKeyId
        ebs = self._csi_driver(
            f"{name}-ebs-csi",
            cluster,
            "aws-ebs-csi-driver",
            versions.ebsCsi,
            "ebs-csi-controller-sa",
            EBS_CSI_POLICY,
            aws,
            aws_child,
            inline_policy=ebs_kms_policy(key) if key else None,
        )
        ebs_class = logic.ebs_class(config)
        self.classes.append(storage_class(f"{name}-block-class", ebs_class, pulumi.ResourceOptions.merge(k8s_child, pulumi.ResourceOptions(depends_on=[ebs]))))
        if self.shared_class:
            self._efs(name, config, cluster, aws, aws_child, k8s_child)
        self.register_outputs({"block_class": self.block_class, "shared_class": self.shared_class, "file_system_id": self.file_system_id})

    def _csi_driver(
        self,
        name: str,
        cluster: Cluster,
        addon: str,
        version: str | None,
        service_account: str | tuple[str, ...],
        policy: str,
        aws,
        aws_child,
        inline_policy=None,
    ):
        """A CSI driver as an EKS add-on, its controller under its own IAM role (IRSA)."""
        role = ServiceAccountRole(
            name, cluster, "kube-system", service_account, (policy,), inline_policy=inline_policy, opts=pulumi.ResourceOptions(parent=self)
        )
        return aws.eks.Addon(
            f"{name}-driver",
            cluster_name=cluster.cluster_name,
            addon_name=addon,
            addon_version=cluster.addon_version(addon, version),
            service_account_role_arn=role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions.merge(aws_child, pulumi.ResourceOptions(depends_on=role.attachments)),
        )

    def _efs(self, name: str, config: StackConfig, cluster: Cluster, aws, aws_child, k8s_child) -> None:
        protected = pulumi.ResourceOptions.merge(aws_child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect))
        driver = self._csi_driver(
            # The EKS user guide's trust for the EFS driver admits its node agent too (efs-csi-*).
            f"{name}-efs-csi",
            cluster,
            "aws-efs-csi-driver",
            config.addons.eks.efsCsi,
            ("efs-csi-controller-sa", "efs-csi-node-sa"),
            EFS_CSI_POLICY,
            aws,
            aws_child,
        )
        file_system = aws.efs.FileSystem(
            f"{name}-efs",
            encrypted=True,
            performance_mode="generalPurpose",
            throughput_mode=config.storage.efs.throughputMode,
            lifecycle_policies=[{"transition_to_ia": "AFTER_30_DAYS"}],
            tags={"Name": f"rdagent-{config.tier.value}-shared"},
            opts=protected,
        )
        self.file_system_id = file_system.id
        # NFS from the cluster's nodes only (managed node groups and Karpenter's nodes carry the cluster security group).
        group = aws.ec2.SecurityGroup(
            f"{name}-efs-sg",
            description="NFS to the shared EFS file system from the cluster's nodes",
            vpc_id=cluster.vpc_id,
            ingress=[
                {
                    "description": "NFS from the cluster security group",
                    "protocol": "tcp",
                    "from_port": NFS_PORT,
                    "to_port": NFS_PORT,
                    "security_groups": [cluster.cluster_security_group_id],
                }
            ],
            opts=aws_child,
        )
        targets = [
            aws.efs.MountTarget(f"{name}-efs-mount-{index}", file_system_id=file_system.id, subnet_id=subnet, security_groups=[group.id], opts=aws_child)
            for index, subnet in enumerate(cluster.private_subnet_ids)
        ]
        self.classes.append(
            storage_class(
                f"{name}-shared-class",
                logic.efs_class(config, file_system.id),
                pulumi.ResourceOptions.merge(k8s_child, pulumi.ResourceOptions(depends_on=[driver, *targets])),
            )
        )
