"""Kueue's objects for the stack's runs, as plain dicts (rdagent:queue; components/run_queue.py makes them).

How a run is queued: its Job carries `kueue.x-k8s.io/queue-name` (the LocalQueue in the namespace) and
`kueue.x-k8s.io/priority-class`. Kueue's webhook suspends the Job when it is created; Kueue admits it
when the stack's ClusterQueue has quota for its requests, and only then unsuspends it, so its pod exists
only once admitted. Our Jobs never set `spec.suspend` themselves: Kueue owns it, and an update that
applied `suspend: true` to an admitted Job would stop a running run.

The ClusterQueue has two resource groups:
- `nvidia.com/gpu` on the flavor GPU_FLAVOR: the GPU pool's node label and taint, quota `gpu.maxGpus`
  (the number that is also the GPU NodePool's limit on EKS). Kueue gives the flavor only to a run that
  tolerates the taint, and adds the node label to the run's pod.
- `cpu` and `memory` on ANY_FLAVOR, a flavor without node labels: the pod's own selector decides where
  it lands (a GPU run's CPU is counted here too), quota `queue.maxCpu` and `queue.maxMemory`.
Both flavors are shared by the stacks of a cluster, so that ClusterQueues of one cohort can lend and
borrow (Kueue lends per flavor and resource).
"""

from __future__ import annotations

from typing import Any

from rdagent_infra import defaults as seed
from rdagent_infra.config import RunConfig, StackConfig
from rdagent_infra.logic.karpenter import gpu_taint
from rdagent_infra.logic.pods import gpu_scheduling

API_VERSION = "kueue.x-k8s.io/v1beta2"
GPU_FLAVOR = "rdagent-gpu"
ANY_FLAVOR = "rdagent-any"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
PART_OF = {"app.kubernetes.io/part-of": "rdagent"}


def _object(kind: str, name: str, body: dict[str, Any], namespace: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {**PART_OF, **(labels or {})}}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, **body}


def resource_flavors() -> list[dict[str, Any]]:
    """The GPU flavor carries the node selector and taint of the runs' GPU pool, as the runs' pods ask for them."""
    pool_selector = gpu_scheduling(1)["nodeSelector"]
    return [
        _object("ResourceFlavor", GPU_FLAVOR, {"spec": {"nodeLabels": pool_selector, "nodeTaints": [gpu_taint()]}}),
        _object("ResourceFlavor", ANY_FLAVOR, {"spec": {}}),
    ]


def priority_classes(config: StackConfig) -> list[dict[str, Any]]:
    return [
        _object("WorkloadPriorityClass", priority.name, {"value": priority.value, **({"description": priority.description} if priority.description else {})})
        for priority in config.queue.priorities
    ]


def _gpu_quota(config: StackConfig) -> dict[str, Any]:
    """Quantities as strings, the form Kueue stores them in: an integer here would differ from the
    stored "8" at every preview (seen against the real Kueue: `up --expect-no-changes` failed)."""
    quota: dict[str, Any] = {"name": seed.GPU_RESOURCE, "nominalQuota": str(config.gpu.maxGpus)}
    queue = config.queue
    if queue.borrowingLimitGpus is not None:
        quota["borrowingLimit"] = str(queue.borrowingLimitGpus)
    if queue.lendingLimitGpus is not None:
        quota["lendingLimit"] = str(queue.lendingLimitGpus)
    return quota


def cluster_queue(config: StackConfig) -> dict[str, Any]:
    queue = config.queue
    spec: dict[str, Any] = {
        # Only the stack's namespace sends runs here.
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": config.namespace}},
        # Priority first, then the time a run was created; a run that does not fit does not block smaller ones.
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [
            {"coveredResources": [seed.GPU_RESOURCE], "flavors": [{"name": GPU_FLAVOR, "resources": [_gpu_quota(config)]}]},
            {
                "coveredResources": ["cpu", "memory"],
                "flavors": [
                    {"name": ANY_FLAVOR, "resources": [{"name": "cpu", "nominalQuota": str(queue.maxCpu)}, {"name": "memory", "nominalQuota": queue.maxMemory}]}
                ],
            },
        ],
        "preemption": {"withinClusterQueue": queue.withinClusterQueue, "reclaimWithinCohort": queue.reclaimWithinCohort},
    }
    if queue.cohort is not None:
        spec["cohortName"] = queue.cohort
    return _object("ClusterQueue", config.cluster_queue(), {"spec": spec}, labels={"rdagent.io/tier": config.tier.value})


def local_queue(config: StackConfig) -> dict[str, Any]:
    return _object("LocalQueue", config.queue.localQueue, {"spec": {"clusterQueue": config.cluster_queue()}}, namespace=config.namespace)


def run_queue_labels(config: StackConfig, run: RunConfig) -> dict[str, str]:
    """The labels that send a run's Job to the stack's queue ({} with the queue off)."""
    if not config.queue_enabled():
        return {}
    return {QUEUE_LABEL: config.queue.localQueue, PRIORITY_LABEL: config.run_priority(run)}


def cluster_objects(config: StackConfig) -> list[dict[str, Any]]:
    """The cluster-wide objects this stack makes: its ClusterQueue, and the shared flavors and
    priority classes unless another stack of the cluster made them (queue.clusterObjects)."""
    shared = resource_flavors() + priority_classes(config) if config.queue.clusterObjects == "create" else []
    return [*shared, cluster_queue(config)]
