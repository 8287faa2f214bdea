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
    """EKS add-on versions. Unset: the version AWS makes the default of the add-on for the cluster's
    Kubernetes version (`aws.eks.get_addon_version`, not the most recent), read at every preview and
    update, so it moves with `cluster.eks.version`; set one to pin it (the versions AWS lists:
    `aws eks describe-addon-versions --kubernetes-version <version> --addon-name NAME`)."""

    vpcCni: EksBuild | None = None
    coreDns: EksBuild | None = None
    kubeProxy: EksBuild | None = None
    metricsServer: EksBuild | None = None
    ebsCsi: EksBuild | None = None
    efsCsi: EksBuild | None = None


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
    # Installed when the queue is on (rdagent:queue): Kueue, which admits the runs against their quota.
    kueue: HelmChartConfig = HelmChartConfig(**seed.CHART_KUEUE)
    gatewayClassName: DnsName = "envoy"
