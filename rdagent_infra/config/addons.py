"""`rdagent:addons`: what the cluster must run for the stack to work, at pinned versions. In eks
mode the program installs each one; with an existing cluster (kubeconfig) preflight checks each
one is there and names what is missing."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import DnsName, Model

EksBuild = Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")]


class HelmChartConfig(Model):
    repository: Annotated[str, Field(pattern=r"^(https://|oci://)")]
    chart: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(pattern=r"^v?\d+\.\d+\.\d+$")]
    namespace: DnsName


class EksAddonVersions(Model):
    """EKS add-on versions (`aws eks describe-addon-versions --kubernetes-version 1.33 --addon-name NAME`)."""

    vpcCni: EksBuild = seed.ADDON_VPC_CNI
    coreDns: EksBuild = seed.ADDON_COREDNS
    kubeProxy: EksBuild = seed.ADDON_KUBE_PROXY
    metricsServer: EksBuild = seed.ADDON_METRICS_SERVER
    ebsCsi: EksBuild = seed.ADDON_EBS_CSI
    efsCsi: EksBuild = seed.ADDON_EFS_CSI


class AddonsConfig(Model):
    eks: EksAddonVersions = EksAddonVersions()
    # The VPC CNI enforces NetworkPolicy only when told to (its network policy agent).
    networkPolicy: bool = True
    karpenter: HelmChartConfig = HelmChartConfig(**seed.CHART_KARPENTER)
    envoyGateway: HelmChartConfig = HelmChartConfig(**seed.CHART_ENVOY_GATEWAY)
    kubePrometheusStack: HelmChartConfig = HelmChartConfig(**seed.CHART_KUBE_PROMETHEUS_STACK)
    # Installed only when the UI's certificate comes from an issuer (workloads.ui.ingress.certManager).
    certManager: HelmChartConfig = HelmChartConfig(**seed.CHART_CERT_MANAGER)
    # Installed only when rdagent:secretsStore names secrets.
    secretsStoreCsiAws: HelmChartConfig = HelmChartConfig(**seed.CHART_SECRETS_STORE_CSI_AWS)
    gatewayClassName: DnsName = "envoy"
