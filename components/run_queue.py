"""Kueue in front of the batch runs (rdagent:queue): on EKS the Kueue chart, and on any cluster the
stack's ClusterQueue, with the ResourceFlavors and WorkloadPriorityClasses the stacks of a cluster
share (rdagent_infra/logic/queue.py says what each is). The LocalQueue lives in the app namespace with
the runs (components/batch_runs.py).

On destroy, the namespace goes first (the program makes it wait for this component): Kueue keeps a
ClusterQueue while workloads hold its quota and a flavor while a ClusterQueue uses it, so deleting
them before the runs would wait until the engine's timeout."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.helm import helm_release
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import queue as logic

# The chart's defaults manage batch/v1 Jobs that name a queue (manageJobsWithoutQueueName: false), and
# leave every other workload alone.
CHART_VALUES: dict[str, Any] = {}


def kueue_object(name: str, body: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """One Kueue object. WorkloadPriorityClass keeps its fields at the top level (`value`), which
    CustomResource (metadata and spec only) cannot carry, so the object is registered as it is."""
    if set(body) <= {"apiVersion", "kind", "metadata", "spec"}:
        return k8s.apiextensions.CustomResource(
            name, api_version=body["apiVersion"], kind=body["kind"], metadata=body["metadata"], spec=body.get("spec"), opts=opts
        )
    return pulumi.CustomResource(f"kubernetes:{body['apiVersion']}:{body['kind']}", name, dict(body), opts)


class RunQueue(pulumi.ComponentResource):
    """Outputs: `ready` (what the namespace and the runs wait for: Kueue and the ClusterQueue)."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, nodes: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:RunQueue", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        after: list = []
        if config.cluster.mode == "eks":
            # Its webhook must answer before a run's Job is created: the chart's release waits for it.
            after.append(
                helm_release(
                    f"{name}-chart", "kueue", config.addons.kueue, CHART_VALUES, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=nodes))
                )
            )
        objects = logic.cluster_objects(config)
        shared = [obj for obj in objects if obj["kind"] != "ClusterQueue"]
        made = [
            kueue_object(
                f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}", obj, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=after))
            )
            for obj in shared
        ]
        (cluster_queue,) = (obj for obj in objects if obj["kind"] == "ClusterQueue")
        queue = kueue_object(f"{name}-cluster-queue", cluster_queue, pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[*after, *made])))
        self.ready = [*after, *made, queue]
        self.register_outputs({})
