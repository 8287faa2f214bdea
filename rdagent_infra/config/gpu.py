"""`rdagent:gpu`: the EKS CPU node group, the GPU NodePool Karpenter scales from zero (instance
types, disk, Spot, `maxGpus`) and the NVIDIA device plugin."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from rdagent_infra.config.base import Model, path_error


class NodePoolConfig(Model):
    instanceTypes: Annotated[list[str], Field(min_length=1)]
    diskSizeGb: Annotated[int, Field(ge=20, le=16384)] = 100
    minSize: Annotated[int, Field(ge=0, le=1000)] = 0
    desiredSize: Annotated[int, Field(ge=0, le=1000)] = 0
    maxSize: Annotated[int, Field(ge=1, le=1000)] = 2
    spot: bool = False
    labels: dict[str, str] = {}

    @model_validator(mode="after")
    def _sizes(self) -> NodePoolConfig:
        if not self.minSize <= self.desiredSize <= self.maxSize:
            raise path_error(
                ["desiredSize"],
                f"must lie between minSize ({self.minSize}) and maxSize ({self.maxSize}), got {self.desiredSize}",
            )
        return self


class GpuConfig(Model):
    enabled: bool = False
    amiType: Literal["AL2023_x86_64_NVIDIA", "AL2_x86_64_GPU", "BOTTLEROCKET_x86_64_NVIDIA"] = "AL2023_x86_64_NVIDIA"
    pool: NodePoolConfig = NodePoolConfig(instanceTypes=["g5.2xlarge"], diskSizeGb=200, maxSize=4)
    cpuPool: NodePoolConfig = NodePoolConfig(instanceTypes=["m6i.2xlarge"], minSize=2, desiredSize=2, maxSize=6)
    devicePluginImage: str = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
    # Create the EC2 Spot service-linked role (AWSServiceRoleForEC2Spot) with the stack. An account that
    # never ran Spot lacks it, and Karpenter's Spot launches then fail (ServiceLinkedRoleCreationNotPermitted);
    # an account that has it refuses a second one, so leave this false there (aws iam get-role
    # --role-name AWSServiceRoleForEC2Spot tells).
    createSpotServiceLinkedRole: bool = False
    # CPU capacity beyond the node group: Karpenter's CPU NodePool (cpuPool's instance types, no taint)
    # adds nodes for pending CPU runs, up to this many vCPUs; 0: only the node group.
    cpuBurstMaxCpu: Annotated[int, Field(ge=0, le=100000)] = 64
    # Karpenter scales the GPU pool from zero; this caps the GPUs its NodePool runs at once.
    maxGpus: Annotated[int, Field(ge=1, le=1024)] = 8
    # The AMI release Karpenter launches for amiType (an EC2NodeClass alias such as al2023@v20250920); the
    # family's NVIDIA variant is chosen for GPU instance types.
    amiVersion: Annotated[str, Field(pattern=r"^(latest|v\d{8})$")] = "latest"
