"""`rdagent:queue`: Kueue in front of the batch runs. The stack's runs go to one LocalQueue in its
namespace, which feeds a ClusterQueue of the stack's own with GPU, CPU and memory quota; a cohort lets
stacks on one cluster borrow each other's idle quota; WorkloadPriorityClasses order the runs.

On by default in staging and prod and wherever a run asks for GPUs. On EKS the program installs
Kueue (`addons.kueue`); on an existing cluster preflight checks Kueue's APIs are served."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from rdagent_infra.config.base import DnsName, Model, Quantity, path_error


class PriorityClassConfig(Model):
    name: DnsName
    # Kueue orders waiting runs by this value (higher first), then by when they were created.
    value: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)]
    description: Annotated[str, Field(max_length=2048)] = ""


DEFAULT_PRIORITIES = (
    PriorityClassConfig(name="scheduled", value=100, description="runs started by a schedule (CronJobs)"),
    PriorityClassConfig(name="interactive", value=1000, description="runs a person started: admitted before scheduled ones"),
)


class QueueConfig(Model):
    # None: on in staging and prod and in any stack with a GPU run.
    enabled: bool | None = None
    # The stack's ClusterQueue (cluster-wide; default `<namespace>-runs`) and its LocalQueue in the namespace.
    clusterQueue: DnsName | None = None
    localQueue: DnsName = "rdagent-runs"
    # ClusterQueues of one cohort borrow each other's idle quota; none: this stack neither lends nor borrows.
    cohort: DnsName | None = "rdagent"
    # Quota for the runs' CPU and memory requests (all runs, GPU runs included). GPU quota is gpu.maxGpus,
    # the same number as the GPU NodePool's limit.
    maxCpu: Annotated[int, Field(ge=1, le=100000)] = 64
    maxMemory: Quantity = "256Gi"
    # GPUs this stack may borrow from the cohort beyond gpu.maxGpus, and GPUs of its own it lends (unset: any idle).
    borrowingLimitGpus: Annotated[int, Field(ge=0, le=1024)] | None = None
    lendingLimitGpus: Annotated[int, Field(ge=0, le=1024)] | None = None
    # Whether a waiting run may stop a running one: never by default (a stopped run loses its loop).
    withinClusterQueue: Literal["Never", "LowerPriority", "LowerOrNewerEqualPriority"] = "Never"
    reclaimWithinCohort: Literal["Never", "LowerPriority", "Any"] = "Never"
    priorities: Annotated[list[PriorityClassConfig], Field(min_length=1)] = list(DEFAULT_PRIORITIES)
    # The priority of runs with a schedule, and of the others, unless a run names its own (runs[].priority).
    scheduledPriority: DnsName = "scheduled"
    oneOffPriority: DnsName = "interactive"
    # The ResourceFlavors and WorkloadPriorityClasses are cluster-wide and shared by every stack of the
    # cohort: `create` makes them with this stack; `existing` uses those another stack of the cluster made.
    clusterObjects: Literal["create", "existing"] = "create"

    @model_validator(mode="after")
    def _consistent(self) -> QueueConfig:
        names = [priority.name for priority in self.priorities]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise path_error(["priorities"], f"each priority class once: {', '.join(duplicated)} repeated")
        for key in ("scheduledPriority", "oneOffPriority"):
            if getattr(self, key) not in names:
                raise path_error([key], f"names no class of queue.priorities ({', '.join(names)}): {getattr(self, key)!r}")
        if self.cohort is None:
            for key in ("borrowingLimitGpus", "lendingLimitGpus"):
                if getattr(self, key) is not None:
                    raise path_error([key], "borrowing and lending happen within a cohort: set queue.cohort or unset this")
        return self
