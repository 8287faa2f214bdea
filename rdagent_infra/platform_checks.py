"""Preflight items for the platform under the application: the AWS account, access to the API
endpoint, GPU capacity on demand, and (for an existing cluster) the add-ons, classes and CRDs the
stack needs. Each returns a preflight Item; the cluster items read the cluster through `ClusterApi`
(GET an API path, None when it is not there), so they run against recorded API responses too.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import karpenter
from rdagent_infra.logic.pods import gpu_scheduling
from rdagent_infra.logic.storage import DEFAULT_CLASS_ANNOTATION, block_class, shared_class

PASS, FAIL, NA = "pass", "fail", "n/a"
# RFC 5737: addresses for documentation, which reach nothing.
DOCUMENTATION_RANGES = [ipaddress.ip_network(cidr) for cidr in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
ClusterApi = Callable[[str], dict | None]


@dataclass(frozen=True)
class Item:
    name: str
    status: str
    reason: str


def check_kubernetes_support(config: StackConfig, today: datetime.date) -> Item:
    """Is the cluster's Kubernetes version in EKS standard support today."""
    name = "Kubernetes version support"
    if config.cluster.mode != "eks":
        return Item(name, NA, f"cluster.mode {config.cluster.mode}: the cluster's owner chooses its version")
    version = config.cluster.eks.version
    end = seed.EKS_STANDARD_SUPPORT_END.get(version)
    if end is None:
        return Item(name, FAIL, f"rdagent:cluster.eks.version {version}: no EKS standard support dates known for it (defaults.EKS_STANDARD_SUPPORT_END)")
    if today > datetime.date.fromisoformat(end):
        supported = sorted(v for v, day in seed.EKS_STANDARD_SUPPORT_END.items() if datetime.date.fromisoformat(day) >= today)
        return Item(
            name,
            FAIL,
            f"rdagent:cluster.eks.version {version} left EKS standard support on {end}: the cluster runs on extended support, billed "
            f"per cluster hour on top; move to {' or '.join(supported) or 'a newer version'} with the add-on versions AWS lists for it "
            "(aws eks describe-addon-versions --kubernetes-version <version>)",
        )
    return Item(name, PASS, f"Kubernetes {version} is in EKS standard support until {end}")


def check_account(config: StackConfig) -> Item:
    name = "AWS account"
    if config.cluster.mode != "eks":
        return Item(name, NA, f"cluster.mode {config.cluster.mode}: no AWS resources")
    if not config.aws.accountId:
        return Item(
            name,
            FAIL,
            "rdagent:aws.accountId is unset, so the AWS provider accepts credentials of any account: "
            "set it (pulumi config set --path 'rdagent:aws.accountId' <your 12-digit account id>)",
        )
    return Item(name, PASS, f"the AWS provider refuses credentials of any account but {config.aws.accountId}")


def check_endpoint(config: StackConfig) -> Item:
    name = "API endpoint access"
    if config.cluster.mode != "eks":
        return Item(name, NA, f"cluster.mode {config.cluster.mode}: the cluster's endpoint is not ours")
    eks = config.cluster.eks
    if not eks.endpointPublicAccess:
        return Item(name, PASS, f"private only, in the existing VPC {eks.existingVpcId}: run pulumi from inside it (docs/deploy-aws.md)")
    unreachable = [cidr for cidr in eks.publicAccessCidrs if any(ipaddress.ip_network(cidr).subnet_of(doc) for doc in DOCUMENTATION_RANGES)]
    if unreachable:
        return Item(
            name,
            FAIL,
            f"rdagent:cluster.eks.publicAccessCidrs lists {', '.join(unreachable)}, a documentation range that reaches nothing: "
            "set the egress CIDRs of the laptops and CI runners that run pulumi",
        )
    return Item(name, PASS, f"public to {', '.join(eks.publicAccessCidrs)} only; nodes use the private endpoint")


def gpu_runs(config: StackConfig) -> list:
    return [run for run in config.workloads.runs if run.resources.gpus]


def check_gpu_capacity(config: StackConfig, cluster: ClusterApi | None = None) -> Item:
    """Can every GPU run get a node: an autoscaler whose pool makes nodes with the GPU resource, the
    labels the run selects and a taint the run tolerates (or GPU nodes that are there already)."""
    name = "GPU capacity"
    runs = gpu_runs(config)
    if not runs:
        return Item(name, NA, "no run asks for a GPU")
    if config.cluster.mode == "eks":
        pools = {karpenter.GPU_NODE_POOL: {"spec": karpenter.gpu_node_pool(config)}} if config.gpu.enabled else {}
        source = "Karpenter NodePool"
    elif cluster is not None:
        found = cluster("/apis/karpenter.sh/v1/nodepools")
        pools = {p["metadata"]["name"]: p for p in (found or {}).get("items", [])}
        source = "Karpenter NodePool"
    else:
        return Item(name, NA, "render mode: no cluster to check")
    problems = []
    for run in runs:
        placement = gpu_scheduling(run.resources.gpus)
        why = {pool: karpenter.pool_can_serve(spec, placement["tolerations"], placement["nodeSelector"], run.resources.gpus) for pool, spec in pools.items()}
        if any(not reasons for reasons in why.values()):
            continue
        if cluster is not None and _gpu_node_exists(cluster, placement, run.resources.gpus):
            continue
        detail = "; ".join(f"{pool}: {', '.join(reasons)}" for pool, reasons in why.items()) or f"no {source} and no GPU node"
        problems.append(f"run {run.name} ({run.resources.gpus} GPU) cannot get a node: {detail}")
    if problems:
        return Item(name, FAIL, "; ".join(problems))
    return Item(name, PASS, f"{len(runs)} GPU run(s); {source} {', '.join(pools) or '(existing GPU nodes)'} makes tainted nvidia.com/gpu nodes from zero")


def _gpu_node_exists(cluster: ClusterApi, placement: dict, gpus: int) -> bool:
    nodes = (cluster("/api/v1/nodes") or {}).get("items", [])
    for node in nodes:
        allocatable = int(str(node.get("status", {}).get("allocatable", {}).get("nvidia.com/gpu", "0")))
        spec = {"template": {"metadata": {"labels": node["metadata"].get("labels", {})}, "spec": {"taints": node.get("spec", {}).get("taints", [])}}}
        if allocatable >= gpus and not karpenter.pool_can_serve(spec, placement["tolerations"], placement["nodeSelector"], 0):
            return True
    return False


def needs(config: StackConfig) -> list[tuple[str, str]]:
    """What the stack needs from the cluster: (what, API path that exists when it is there)."""
    crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
    wanted = [("metrics-server (the UI's HorizontalPodAutoscaler)", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io")]
    ingress = config.workloads.ui.ingress
    if (ingress.enabled and ingress.kind == "gatewayApi") or (config.rollout.strategy != "rolling" and config.rollout.trafficProvider == "gatewayApi"):
        wanted.append(("the Gateway API CRDs (HTTPRoute)", crd + "httproutes.gateway.networking.k8s.io"))
        wanted.append(
            (
                f"the Gateway {ingress.gatewayNamespace}/{ingress.gatewayName}",
                f"/apis/gateway.networking.k8s.io/v1/namespaces/{ingress.gatewayNamespace}/gateways/{ingress.gatewayName}",
            )
        )
    if config.monitoring.enabled and config.monitoring.prometheusOperator:
        wanted.append(("the Prometheus Operator CRDs (ServiceMonitor)", crd + "servicemonitors.monitoring.coreos.com"))
        wanted.append(("the Prometheus Operator CRDs (PrometheusRule)", crd + "prometheusrules.monitoring.coreos.com"))
    return wanted


def check_cluster_addons(config: StackConfig, cluster: ClusterApi | None = None) -> Item:
    name = "cluster add-ons"
    if config.cluster.mode == "eks":
        versions = config.addons.eks
        return Item(
            name,
            PASS,
            f"installed by the program: vpc-cni {versions.vpcCni} (network policy {'on' if config.addons.networkPolicy else 'off'}), "
            f"coredns {versions.coreDns}, kube-proxy {versions.kubeProxy}, metrics-server {versions.metricsServer}, "
            f"aws-ebs-csi-driver {versions.ebsCsi}, Envoy Gateway {config.addons.envoyGateway.version}",
        )
    if cluster is None:
        return Item(name, NA, "render mode: no cluster to check")
    missing = [what for what, path in needs(config) if cluster(path) is None]
    missing += _storage_missing(config, cluster)
    if not _network_policy_enforced(cluster):
        missing.append("a NetworkPolicy enforcer (VPC CNI with enableNetworkPolicy, Calico or Cilium): the policies would be accepted and ignored")
    if missing:
        return Item(name, FAIL, "missing: " + "; ".join(missing))
    return Item(name, PASS, "present: " + ", ".join(what for what, _ in needs(config)) + ", the storage classes and a NetworkPolicy enforcer")


def _storage_missing(config: StackConfig, cluster: ClusterApi) -> list[str]:
    classes = (cluster("/apis/storage.k8s.io/v1/storageclasses") or {}).get("items", [])
    names = {c["metadata"]["name"] for c in classes}
    default = [c["metadata"]["name"] for c in classes if c["metadata"].get("annotations", {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    missing = []
    for key, wanted in (("blockClass", block_class(config)), ("sharedClass", shared_class(config))):
        if wanted and wanted not in names:
            missing.append(f"the StorageClass {wanted} (rdagent:storage.{key})")
    if not (block_class(config) and shared_class(config)) and not default:
        missing.append("a default StorageClass (claims without rdagent:storage.blockClass/sharedClass use it)")
    return missing


def _network_policy_enforced(cluster: ClusterApi) -> bool:
    daemonsets = (cluster("/apis/apps/v1/namespaces/kube-system/daemonsets") or {}).get("items", [])
    for daemonset in daemonsets:
        if daemonset["metadata"]["name"] in ("calico-node", "cilium"):
            return True
        for container in daemonset.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            if container.get("name") == "aws-eks-nodeagent" and "--enable-network-policy=true" in container.get("args", []):
                return True
    return False
