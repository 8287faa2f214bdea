"""Where Kubernetes workloads keep their pod spec and containers, and how a container's security
settings combine with its pod's, as the API server and the kubelet read them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Where each workload type keeps its pod spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_TYPES = tuple(POD_SPEC_PATHS)
# Pod Security admission visits init, regular and ephemeral containers alike.
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Container:
    spec: dict[str, Any]
    path: str  # e.g. spec.template.spec.containers[0]
    kind: str  # containers, initContainers, ephemeralContainers

    @property
    def name(self) -> str:
        return str(self.spec.get("name", "?"))

    def security(self, field: str) -> Any:
        return (self.spec.get("securityContext") or {}).get(field)

    def where(self) -> str:
        return f"container {self.name!r} ({self.path})"


@dataclass(frozen=True)
class PodSpec:
    spec: dict[str, Any]
    path: str
    metadata: Mapping[str, Any] = field(default_factory=dict)  # the pod's (or pod template's) metadata

    def containers(self) -> Iterator[Container]:
        for kind in CONTAINER_LISTS:
            for index, container in enumerate(self.spec.get(kind) or []):
                if isinstance(container, Mapping):
                    yield Container(container, f"{self.path}.{kind}[{index}]", kind)

    def security(self, field: str) -> Any:
        return (self.spec.get("securityContext") or {}).get(field)

    @property
    def is_windows(self) -> bool:
        """spec.os.name windows: the API rejects the Linux-only security fields on such pods, and
        Pod Security admission exempts them from the checks of those fields."""
        return (self.spec.get("os") or {}).get("name") == "windows"


def pod_spec_of(resource_type: str, props: dict[str, Any]) -> PodSpec | None:
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return None
    node: Any = props
    parent: Any = None
    for key in path:
        if not isinstance(node, Mapping):
            return None
        parent, node = node, node.get(key)
    if not isinstance(node, Mapping):
        return None
    return PodSpec(node, ".".join(path), (parent or {}).get("metadata") or {})
