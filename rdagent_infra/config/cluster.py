"""`rdagent:cluster` and `rdagent:aws`: where the stack deploys (rendered files, a kubeconfig
context or a new EKS cluster) and the AWS account and region."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from rdagent_infra.config.base import Model, path_error


class EksConfig(Model):
    version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = "1.33"
    vpcCidr: str = "10.40.0.0/16"
    existingVpcId: str | None = None
    existingSubnetIds: list[str] = []
    endpointPublicAccess: bool = False
    endpointPrivateAccess: bool = True
    publicAccessCidrs: list[str] = []
    logTypes: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = [
        "api",
        "audit",
        "authenticator",
    ]

    @model_validator(mode="after")
    def _vpc(self) -> EksConfig:
        if self.existingVpcId and len(self.existingSubnetIds) < 2:
            raise path_error(["existingSubnetIds"], "an existing VPC needs at least two subnet IDs in two zones")
        if not self.endpointPublicAccess and not self.endpointPrivateAccess:
            raise path_error(["endpointPrivateAccess"], "the API endpoint must be reachable: enable private or public access")
        return self


class ClusterConfig(Model):
    mode: Literal["render", "kubeconfig", "eks"] = "render"
    renderDir: str = "build/dev"
    kubeconfigContext: str | None = None
    eks: EksConfig = EksConfig()

    @model_validator(mode="after")
    def _mode_settings(self) -> ClusterConfig:
        if self.mode == "kubeconfig" and not self.kubeconfigContext:
            raise path_error(["kubeconfigContext"], "required when mode is kubeconfig")
        if self.mode == "render" and not self.renderDir:
            raise path_error(["renderDir"], "required when mode is render")
        return self


class AwsConfig(Model):
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")] = "us-east-1"
    # When set, the AWS provider refuses credentials of any other account.
    accountId: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
