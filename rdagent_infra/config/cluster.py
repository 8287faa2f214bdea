"""`rdagent:cluster` and `rdagent:aws`: where the stack deploys (rendered files, a kubeconfig
context or a new EKS cluster) and the AWS account and region."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, model_validator

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import Model, path_error


class AccessEntryConfig(Model):
    """Who may use the cluster's Kubernetes API besides its creator: an IAM role or user (a person's
    SSO role, CI's deploy role) and the EKS access policy it gets, on the whole cluster or on some
    namespaces."""

    principalArn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/\S+$")]
    policy: Literal["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"] = "AmazonEKSClusterAdminPolicy"
    namespaces: list[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]] = []


class EksConfig(Model):
    version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = seed.EKS_VERSION
    vpcCidr: str = "10.40.0.0/16"
    # Access entries (authentication mode API_AND_CONFIG_MAP): without them only the IAM identity that
    # created the cluster can use its Kubernetes API, so list CI's deploy role and the team's roles.
    accessEntries: list[AccessEntryConfig] = []
    # The Availability Zone IDs of the VPC the program makes (two or more); unset: DEFAULT_ZONE_IDS of
    # the region. IDs, not names: a zone name is a different zone in each account.
    zoneIds: list[Annotated[str, Field(pattern=r"^[a-z]{2,}\d-az\d+$")]] | None = None
    existingVpcId: str | None = None
    existingSubnetIds: list[str] = []
    endpointPublicAccess: bool = False
    endpointPrivateAccess: bool = True
    publicAccessCidrs: list[str] = []
    # Days CloudWatch keeps the control plane's logs (EKS's own log group never expires them).
    logRetentionDays: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] = 90
    logTypes: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = [
        "api",
        "audit",
        "authenticator",
    ]

    @model_validator(mode="after")
    def _vpc(self, info: ValidationInfo) -> EksConfig:
        if self.existingVpcId and len(self.existingSubnetIds) < 2:
            raise path_error(["existingSubnetIds"], "an existing VPC needs at least two subnet IDs in two zones")
        if self.zoneIds is not None:
            if len(set(self.zoneIds)) < 2 or len(set(self.zoneIds)) != len(self.zoneIds):
                raise path_error(["zoneIds"], "list two or more different Availability Zone IDs (EKS needs subnets in two zones)")
            for index, zone in enumerate(self.zoneIds):
                if zone in seed.EKS_UNSUPPORTED_ZONE_IDS:
                    raise path_error(["zoneIds", index], f"{zone} cannot host an EKS control plane (the EKS user guide): choose another zone ID")
        if not self.endpointPublicAccess and not self.endpointPrivateAccess:
            raise path_error(["endpointPrivateAccess"], "the API endpoint must be reachable: enable private or public access")
        for index, cidr in enumerate(self.publicAccessCidrs):
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise path_error(["publicAccessCidrs", index], f"not a CIDR block ({exc})") from None
            if network.prefixlen == 0:
                raise path_error(
                    ["publicAccessCidrs", index], f"{cidr} opens the API endpoint to the whole internet: list the CIDRs of your laptops and CI runners"
                )
        tier = (info.context or {}).get("tier")
        if self.endpointPublicAccess and not self.publicAccessCidrs and tier is not None and tier.is_production_like:
            raise path_error(
                ["publicAccessCidrs"],
                f"required in {tier.value} when endpointPublicAccess is true (EKS would allow 0.0.0.0/0): list the CIDRs "
                "allowed to reach the API, or set endpointPublicAccess false and run pulumi from inside the VPC",
            )
        if not self.endpointPrivateAccess and self.endpointPublicAccess:
            raise path_error(["endpointPrivateAccess"], "keep private access on: nodes reach the API through the VPC, not the internet")
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
        if self.mode == "eks" and not self.eks.endpointPublicAccess and not self.eks.existingVpcId:
            raise path_error(
                ["eks", "endpointPublicAccess"],
                "a private-only API endpoint needs eks.existingVpcId: pulumi must then run inside that VPC, and a VPC "
                "this stack creates does not exist before pulumi up; or set true with eks.publicAccessCidrs",
            )
        return self


class AwsConfig(Model):
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")] = "us-east-1"
    # When set, the AWS provider refuses credentials of any other account.
    accountId: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None
