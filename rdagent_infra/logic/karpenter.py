"""Karpenter's objects as plain dicts: the chart's values, the GPU EC2NodeClass and NodePool.

The NodePool's nodes carry the same taint, labels and GPU resource the batch runs ask for
(`rdagent_infra.logic.pods.gpu_scheduling`), so a pending GPU run is exactly what it provisions for.
"""

from __future__ import annotations

from typing import Any

from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig

NODE_POOL_API = "karpenter.sh/v1"
NODE_CLASS_API = "karpenter.k8s.aws/v1"
GPU_NODE_POOL = "gpu"
CPU_NODE_POOL = "cpu"
DISCOVERY_TAG = "karpenter.sh/discovery"


def cluster_name_of(config: StackConfig) -> str:
    """The EKS cluster's name, also the value of Karpenter's discovery tag."""
    return f"rdagent-{config.tier.value}"


GPU_POOL_LABELS = {"rdagent.io/pool": "gpu", "nvidia.com/gpu.present": "true"}
# The EC2NodeClass alias family of each node-group AMI type.
AMI_FAMILIES = {"AL2023_x86_64_NVIDIA": "al2023", "BOTTLEROCKET_x86_64_NVIDIA": "bottlerocket", "AL2_x86_64_GPU": "al2"}
ROOT_DEVICES = {"al2023": "/dev/xvda", "al2": "/dev/xvda", "bottlerocket": "/dev/xvdb"}


def chart_values(cluster_name: str, queue_name: str, role_arn: str) -> dict[str, Any]:
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"name": "karpenter", "annotations": {"eks.amazonaws.com/role-arn": role_arn}},
        "replicas": 2,
        "controller": {"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
    }


def gpu_taint() -> dict[str, str]:
    return {"key": seed.GPU_TAINT_KEY, "value": seed.GPU_TAINT_VALUE, "effect": seed.GPU_TAINT_EFFECT}


def gpu_node_class(config: StackConfig, cluster_name: str, node_role_name: str) -> dict[str, Any]:
    gpu = config.gpu
    family = AMI_FAMILIES[gpu.amiType]
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "role": node_role_name,
        "amiSelectorTerms": [{"alias": f"{family}@{gpu.amiVersion}"}],
        "subnetSelectorTerms": discovery,
        "securityGroupSelectorTerms": discovery,
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICES[family],
                "ebs": {"volumeSize": f"{gpu.pool.diskSizeGb}Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True},
            }
        ],
        # IMDSv2 only, and not reachable from pods (one hop).
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "tags": {"app.kubernetes.io/part-of": "rdagent", "rdagent.io/tier": config.tier.value},
    }


def cpu_node_class(config: StackConfig, cluster_name: str, node_role_name: str) -> dict[str, Any]:
    """The GPU class with the CPU pool's disk: the AMI alias picks the standard variant for CPU instance types."""
    spec = gpu_node_class(config, cluster_name, node_role_name)
    spec["blockDeviceMappings"][0]["ebs"]["volumeSize"] = f"{config.gpu.cpuPool.diskSizeGb}Gi"
    return spec


def cpu_node_pool(config: StackConfig) -> dict[str, Any]:
    """CPU nodes beyond the managed node group, for pending CPU runs, up to `gpu.cpuBurstMaxCpu` vCPUs."""
    pool = config.gpu.cpuPool
    labels = {**pool.labels, "rdagent.io/pool": "cpu"}
    return _node_pool(pool, CPU_NODE_POOL, labels, [], {"cpu": str(config.gpu.cpuBurstMaxCpu)}, longest_cpu_deadline(config))


def longest_cpu_deadline(config: StackConfig) -> int:
    """Seconds the longest CPU run may last; a day without CPU runs."""
    return max((run.deadlineSeconds for run in config.workloads.runs if not run.resources.gpus), default=86400)


def longest_gpu_deadline(config: StackConfig) -> int:
    """Seconds the longest GPU run may last (its Job's activeDeadlineSeconds); a day without GPU runs."""
    return max((run.deadlineSeconds for run in config.workloads.runs if run.resources.gpus), default=86400)


def gpu_node_pool(config: StackConfig) -> dict[str, Any]:
    """GPU nodes from zero up to `gpu.maxGpus` GPUs; a node is removed once no pod runs on it."""
    pool = config.gpu.pool
    limits = {seed.GPU_RESOURCE: str(config.gpu.maxGpus)}
    return _node_pool(pool, GPU_NODE_POOL, {**pool.labels, **GPU_POOL_LABELS}, [gpu_taint()], limits, longest_gpu_deadline(config))


def _node_pool(pool, node_class: str, labels: dict, taints: list, limits: dict, deadline: int) -> dict[str, Any]:
    template_spec: dict[str, Any] = {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": node_class}}
    if taints:
        template_spec["taints"] = taints
    template_spec.update(
        {
            "requirements": [
                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(pool.instanceTypes)},
                {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot" if pool.spot else "on-demand"]},
                {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]},
            ],
            "expireAfter": "720h",
            # An expired node is drained, but a run's pod carries karpenter.sh/do-not-disrupt:
            # without a bound the node would outlive its expiry as long as a run is on it; with
            # it the run keeps its node up to the longest run deadline of its kind, then the node goes.
            "terminationGracePeriod": f"{deadline}s",
        }
    )
    return {
        "template": {"metadata": {"labels": labels}, "spec": template_spec},
        "limits": limits,
        # Runs are long batch jobs: only empty nodes go, never a busy one to pack pods tighter.
        "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m"},
    }


def pool_can_serve(node_pool: dict[str, Any], tolerations: list[dict], node_selector: dict[str, str], gpus: int) -> list[str]:
    """Why a NodePool cannot give a node to a pod with these tolerations, selector and GPU request
    ([] when it can). Reads a NodePool as the API returns it (preflight) or as we declare it."""
    problems = []
    template = node_pool.get("spec", node_pool).get("template", {})
    spec = template.get("spec", {})
    node_labels = template.get("metadata", {}).get("labels", {})
    for taint in spec.get("taints", []):
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in tolerations):
            problems.append(f"its taint {taint['key']}={taint.get('value', '')}:{taint['effect']} is not tolerated")
    for key, value in node_selector.items():
        if node_labels.get(key) != value:
            problems.append(f"its nodes are not labelled {key}={value}")
    limit = node_pool.get("spec", node_pool).get("limits", {}).get(seed.GPU_RESOURCE)
    if gpus and limit is not None and int(str(limit)) < gpus:
        problems.append(f"its limit of {limit} {seed.GPU_RESOURCE} is below the {gpus} a run asks for")
    return problems


def _tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") not in (None, "", taint.get("effect")):
        return False
    if toleration.get("operator") == "Exists":
        return toleration.get("key") in (None, "", taint["key"])
    return toleration.get("key") == taint["key"] and toleration.get("value", "") == taint.get("value", "")
