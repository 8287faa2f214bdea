"""Which StorageClass a volume claim names, and the classes the program creates on EKS.

EBS volumes attach to one node at a time (ReadWriteOnce); a claim that several pods on several
nodes mount (ReadWriteMany) needs a shared file system: EFS on EKS.
"""

from __future__ import annotations

from typing import Any

from rdagent_infra.config import StackConfig

EBS_PROVISIONER = "ebs.csi.aws.com"
EFS_PROVISIONER = "efs.csi.aws.com"
EKS_BLOCK_CLASS = "gp3-encrypted"
EKS_SHARED_CLASS = "efs-shared"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
# The access modes each CSI driver can give (EBS: one node; EFS: any).
PROVISIONER_ACCESS_MODES = {
    EBS_PROVISIONER: {"ReadWriteOnce", "ReadWriteOncePod"},
    EFS_PROVISIONER: {"ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"},
}
SHARED_MODES = {"ReadWriteMany", "ReadOnlyMany"}


def block_class(config: StackConfig) -> str | None:
    """The class of ReadWriteOnce claims (None: the cluster's default class)."""
    if config.cluster.mode == "eks":
        return config.storage.blockClass or EKS_BLOCK_CLASS
    return config.storage.blockClass


def shared_class(config: StackConfig) -> str | None:
    """The class of ReadWriteMany claims: the rdagent helpers' shared volumes name it too."""
    if config.cluster.mode == "eks":
        return (config.storage.sharedClass or EKS_SHARED_CLASS) if config.storage.efs.enabled else None
    return config.storage.sharedClass


def claim_spec(config: StackConfig, access_modes: list[str], size: str) -> dict[str, Any]:
    """A PersistentVolumeClaim spec that names the class able to give `access_modes`."""
    name = shared_class(config) if SHARED_MODES & set(access_modes) else block_class(config)
    spec: dict[str, Any] = {"accessModes": list(access_modes), "resources": {"requests": {"storage": size}}}
    if name:
        spec["storageClassName"] = name
    return spec


def ebs_class(config: StackConfig) -> dict[str, Any]:
    """The encrypted gp3 class, the cluster's default: volumes are created where the pod lands."""
    ebs = config.storage.ebs
    parameters = {"type": ebs.volumeType, "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    if ebs.kmsKeyId:
        parameters["kmsKeyId"] = ebs.kmsKeyId
    return {
        "metadata": {"name": block_class(config), "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": EBS_PROVISIONER,
        "parameters": parameters,
        "reclaimPolicy": "Retain" if config.protect else "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }


def efs_class(config: StackConfig, file_system_id: Any) -> dict[str, Any]:
    """Dynamic EFS access points, owned by our images' non-root user so the pods can write."""
    from rdagent_infra import defaults as seed

    return {
        "metadata": {"name": shared_class(config)},
        "provisioner": EFS_PROVISIONER,
        "parameters": {
            "provisioningMode": "efs-ap",
            "fileSystemId": file_system_id,
            "directoryPerms": "0770",
            "uid": str(seed.APP_UID),
            "gid": str(seed.APP_GID),
            "basePath": "/rdagent",
        },
        "reclaimPolicy": "Retain" if config.protect else "Delete",
        "volumeBindingMode": "Immediate",
    }


def with_classes(config: StackConfig, body: Any) -> Any:
    """`body` (a claim, a StatefulSet, an ECK Elasticsearch, ...) with every claim spec in it naming
    the class that can give its access modes, as `claim_spec` does."""
    if isinstance(body, dict):
        if "accessModes" in body and "resources" in body and "storageClassName" not in body:
            rest = {key: value for key, value in body.items() if key not in ("accessModes", "resources")}
            return {**claim_spec(config, body["accessModes"], body["resources"]["requests"]["storage"]), **rest}
        return {key: with_classes(config, value) for key, value in body.items()}
    if isinstance(body, list):
        return [with_classes(config, item) for item in body]
    return body
