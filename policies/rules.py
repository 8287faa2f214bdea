"""The policy rules: small functions over a resource's properties (camelCase, as the engine and
the Kubernetes API write them). Importing this module starts nothing; the CrossGuard pack
(`policies/pack.py`) and `rdagent-infra policy check` both call these functions.

A rule returns a list of violation messages; each names the container and field path and says
how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policies.quantities import QuantityError, parse_quantity

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
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
EXEMPT_ANNOTATION = "policy.rdagent.io/exempt"
EXEMPT_REASON_ANNOTATION = "policy.rdagent.io/exempt-reason"
# Capabilities a container may add back after dropping ALL.
SAFE_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
GPU_MARKERS = ("NVIDIA", "GPU")
GPU_INSTANCE_FAMILIES = ("p2", "p3", "p4", "p5", "g3", "g4", "g5", "g6", "gr6", "trn", "inf", "dl1")


@dataclass(frozen=True)
class Container:
    spec: dict[str, Any]
    path: str  # e.g. spec.template.spec.containers[0]
    kind: str  # containers, initContainers, ephemeralContainers

    @property
    def name(self) -> str:
        return str(self.spec.get("name", "?"))


@dataclass(frozen=True)
class PodSpec:
    spec: dict[str, Any]
    path: str

    def containers(self) -> Iterator[Container]:
        for kind in CONTAINER_LISTS:
            for index, container in enumerate(self.spec.get(kind) or []):
                if isinstance(container, Mapping):
                    yield Container(container, f"{self.path}.{kind}[{index}]", kind)


def pod_spec_of(resource_type: str, props: dict[str, Any]) -> PodSpec | None:
    path = POD_SPEC_PATHS.get(resource_type)
    if path is None:
        return None
    node: Any = props
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return PodSpec(node, ".".join(path)) if isinstance(node, Mapping) else None


def _pod_field(pod: PodSpec, container: Container, field: str) -> tuple[Any, str]:
    """The effective securityContext field: the container's, else the pod's."""
    own = (container.spec.get("securityContext") or {}).get(field)
    if own is not None:
        return own, f"{container.path}.securityContext.{field}"
    return (pod.spec.get("securityContext") or {}).get(field), f"{pod.path}.securityContext.{field}"


def _where(container: Container) -> str:
    return f"container {container.name!r} ({container.path})"


# --- workload rules --------------------------------------------------------------------


def run_as_non_root(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        non_root, _ = _pod_field(pod, container, "runAsNonRoot")
        user, user_path = _pod_field(pod, container, "runAsUser")
        if user == 0:
            found.append(f"{_where(container)}: {user_path} is 0 (root); set a non-zero runAsUser")
        elif non_root is not True and not (isinstance(user, int) and user > 0):
            found.append(
                f"{_where(container)}: may run as root; set {container.path}.securityContext.runAsNonRoot: true "
                f"(or {pod.path}.securityContext.runAsNonRoot) or a non-zero runAsUser"
            )
    return found


def resource_requests_limits(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        if container.kind == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral containers
        resources = container.spec.get("resources") or {}
        for resource in ("cpu", "memory"):
            request = (resources.get("requests") or {}).get(resource)
            limit = (resources.get("limits") or {}).get(resource)
            for value, section in ((request, "requests"), (limit, "limits")):
                if value is None:
                    found.append(f"{_where(container)}: {container.path}.resources.{section}.{resource} is not set; set it")
            if request is not None and limit is not None:
                try:
                    if parse_quantity(request) > parse_quantity(limit):
                        found.append(
                            f"{_where(container)}: {container.path}.resources.requests.{resource} ({request}) is above "
                            f"limits.{resource} ({limit}); lower the request or raise the limit"
                        )
                except QuantityError as exc:
                    found.append(f"{_where(container)}: {container.path}.resources: {exc}")
    return found


def _container_flag(field: str, must_be: bool, fix: str) -> Callable[[PodSpec], list[str]]:
    def rule(pod: PodSpec) -> list[str]:
        found = []
        for container in pod.containers():
            value = (container.spec.get("securityContext") or {}).get(field)
            if must_be is False and value is True:
                found.append(f"{_where(container)}: {container.path}.securityContext.{field} is true; {fix}")
            elif must_be is True and value is not True:
                found.append(f"{_where(container)}: {container.path}.securityContext.{field} is not true; {fix}")
        return found

    return rule


no_privileged = _container_flag("privileged", False, "remove it or set false")


def no_privilege_escalation(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        if (container.spec.get("securityContext") or {}).get("allowPrivilegeEscalation") is not False:
            found.append(f"{_where(container)}: {container.path}.securityContext.allowPrivilegeEscalation must be false; set it explicitly")
    return found


read_only_root_filesystem = _container_flag("readOnlyRootFilesystem", True, "set it, with emptyDir volumes for the paths the program writes")


def drop_all_capabilities(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        capabilities = (container.spec.get("securityContext") or {}).get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{_where(container)}: {container.path}.securityContext.capabilities.drop must contain ALL")
        added = set(capabilities.get("add") or []) - SAFE_ADDED_CAPABILITIES
        if added:
            found.append(
                f"{_where(container)}: {container.path}.securityContext.capabilities.add has {', '.join(sorted(added))}; "
                f"only {', '.join(sorted(SAFE_ADDED_CAPABILITIES))} may be added back"
            )
    return found


def seccomp_runtime_default(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        profile, path = _pod_field(pod, container, "seccompProfile")
        kind = (profile or {}).get("type")
        if kind not in ("RuntimeDefault", "Localhost"):
            shown = f"is {kind}" if kind else "is not set"
            found.append(f"{_where(container)}: {path}.type {shown}; set seccompProfile.type: RuntimeDefault on the pod or container")
    return found


def no_host_namespaces(pod: PodSpec) -> list[str]:
    return [
        f"{pod.path}.{field} is true; remove it (pods must not share the node's namespaces)"
        for field in ("hostNetwork", "hostPID", "hostIPC")
        if pod.spec.get(field) is True
    ]


def no_host_path(pod: PodSpec) -> list[str]:
    return [
        f"{pod.path}.volumes[{index}] ({volume.get('name')!r}) is a hostPath volume; use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret"
        for index, volume in enumerate(pod.spec.get("volumes") or [])
        if isinstance(volume, Mapping) and volume.get("hostPath") is not None
    ]


def no_host_port(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        for index, port in enumerate(container.spec.get("ports") or []):
            if isinstance(port, Mapping) and port.get("hostPort"):
                found.append(f"{_where(container)}: {container.path}.ports[{index}].hostPort is {port['hostPort']}; expose it through a Service instead")
    return found


def image_tag_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the tag latest"
    return None


def pinned_image_tag(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        image = container.spec.get("image")
        if not isinstance(image, str):
            continue  # unknown during preview
        problem = image_tag_problem(image)
        if problem:
            found.append(f"{_where(container)}: {container.path}.image {image!r} {problem}; pin a version tag or a digest")
    return found


# --- AWS rules -------------------------------------------------------------------------


def ecr_scan_and_immutable(props: dict[str, Any]) -> list[str]:
    found = []
    if (props.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
        found.append("imageScanningConfiguration.scanOnPush must be true; images are scanned for CVEs as they are pushed")
    if props.get("imageTagMutability") not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        found.append(f"imageTagMutability is {props.get('imageTagMutability', 'MUTABLE (the default)')}; set IMMUTABLE so a tag always means one image")
    return found


def is_gpu_node_group(props: dict[str, Any]) -> bool:
    ami = str(props.get("amiType") or "").upper()
    if any(marker in ami for marker in GPU_MARKERS):
        return True
    return any(str(t).split(".")[0].lower().startswith(GPU_INSTANCE_FAMILIES) for t in props.get("instanceTypes") or [])


def gpu_node_group_tainted(props: dict[str, Any]) -> list[str]:
    if not is_gpu_node_group(props):
        return []
    for taint in props.get("taints") or []:
        if taint.get("key") == "nvidia.com/gpu" and taint.get("effect") in ("NO_SCHEDULE", "NoSchedule"):
            return []
    return [
        "a GPU node group has no nvidia.com/gpu NoSchedule taint; add taints: [{key: nvidia.com/gpu, value: 'true', effect: NO_SCHEDULE}] so only GPU pods land on it"
    ]


# --- stack rule ------------------------------------------------------------------------

TRACK_LABEL = "rdagent.io/track"
PAIRS = (("stable", "canary"), ("blue", "green"))


def rollout_relevant(resource_type: str, props: dict[str, Any]) -> bool:
    """Whether `rollout_consistency` looks at this resource (the others may be left out):
    Deployments on a track, and HTTPRoutes."""
    if resource_type == "kubernetes:apps/v1:Deployment":
        return bool((((props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}).get(TRACK_LABEL))
    return resource_type == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def rollout_consistency(resources: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Deployments of one app on two tracks agree on selectors (beyond the track) and ports;
    the backend weights of each HTTPRoute rule sum to 100."""
    found = []
    deployments: dict[tuple[str, str], dict[str, dict]] = {}
    for resource_type, _name, props in resources:
        if resource_type == "kubernetes:apps/v1:Deployment":
            labels = ((props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            track = labels.get(TRACK_LABEL)
            if track:
                app = labels.get("app.kubernetes.io/name", "?")
                namespace = (props.get("metadata") or {}).get("namespace", "default")
                deployments.setdefault((namespace, app), {})[track] = props
        elif resource_type == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute":
            route = (props.get("metadata") or {}).get("name", "?")
            for index, rule in enumerate((props.get("spec") or {}).get("rules") or []):
                refs = rule.get("backendRefs") or []
                weights = [ref.get("weight", 1) for ref in refs]
                if len(refs) > 1 and all(isinstance(w, (int, float)) for w in weights) and sum(weights) != 100:
                    found.append(f"HTTPRoute {route}: spec.rules[{index}].backendRefs weights sum to {sum(weights)}, not 100")
    for (namespace, app), tracks in deployments.items():
        for old, new in PAIRS:
            if old in tracks and new in tracks:
                found += _compare_tracks(f"{namespace}/{app}", old, tracks[old], new, tracks[new])
    return found


def _compare_tracks(app: str, old: str, old_props: dict, new: str, new_props: dict) -> list[str]:
    def selector(props):
        labels = dict(((props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        labels.pop(TRACK_LABEL, None)
        return labels

    def ports(props):
        spec = pod_spec_of("kubernetes:apps/v1:Deployment", props)
        return sorted((c.name, p.get("containerPort")) for c in (spec.containers() if spec else []) for p in c.spec.get("ports") or [])

    found = []
    if selector(old_props) != selector(new_props):
        found.append(
            f"{app}: the {old} and {new} Deployments select different pods ({selector(old_props)} vs {selector(new_props)}); they must differ only in {TRACK_LABEL}"
        )
    if ports(old_props) != ports(new_props):
        found.append(f"{app}: the {old} and {new} Deployments expose different container ports ({ports(old_props)} vs {ports(new_props)})")
    return found


# --- the catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    default_level: str  # advisory | mandatory
    check_pod: Callable[[PodSpec], list[str]] | None = None
    check_props: Callable[[dict[str, Any]], list[str]] | None = None
    resource_types: tuple[str, ...] = WORKLOAD_TYPES


WORKLOAD_POLICIES = (
    Policy("run-as-non-root", "Containers run as a non-root user (runAsNonRoot or a non-zero runAsUser).", "mandatory", run_as_non_root),
    Policy("resource-requests-limits", "Containers set CPU and memory requests and limits, requests within limits.", "mandatory", resource_requests_limits),
    Policy("no-privilege-escalation", "Containers set allowPrivilegeEscalation: false.", "mandatory", no_privilege_escalation),
    Policy("no-privileged-containers", "Containers are not privileged.", "mandatory", no_privileged),
    Policy("drop-all-capabilities", "Containers drop ALL capabilities and add back nothing dangerous.", "mandatory", drop_all_capabilities),
    Policy("seccomp-runtime-default", "Pods or containers use the RuntimeDefault (or a Localhost) seccomp profile.", "mandatory", seccomp_runtime_default),
    Policy("no-host-namespaces", "Pods do not use hostNetwork, hostPID or hostIPC.", "mandatory", no_host_namespaces),
    Policy("no-host-path-volumes", "Pods do not mount hostPath volumes.", "mandatory", no_host_path),
    Policy("no-host-ports", "Containers do not bind host ports.", "mandatory", no_host_port),
    Policy("pinned-image-tags", "Images are pinned by a version tag or digest, never latest or untagged.", "mandatory", pinned_image_tag),
    Policy("read-only-root-filesystem", "Containers mount their root filesystem read-only.", "advisory", read_only_root_filesystem),
)
AWS_POLICIES = (
    Policy(
        "ecr-scan-and-immutable-tags",
        "ECR repositories scan on push and have immutable tags.",
        "mandatory",
        check_props=ecr_scan_and_immutable,
        resource_types=("aws:ecr/repository:Repository",),
    ),
    Policy(
        "gpu-node-groups-tainted",
        "EKS node groups with GPU instances or AMIs carry the nvidia.com/gpu NoSchedule taint.",
        "mandatory",
        check_props=gpu_node_group_tainted,
        resource_types=("aws:eks/nodeGroup:NodeGroup",),
    ),
)
STACK_POLICY_NAME = "rollout-consistency"
STACK_POLICY_DESCRIPTION = "Canary/stable and blue/green Deployments agree on selectors and ports; route weights sum to 100."
RESOURCE_POLICIES = WORKLOAD_POLICIES + AWS_POLICIES
ALL_POLICY_NAMES = tuple(p.name for p in RESOURCE_POLICIES) + (STACK_POLICY_NAME,)


def exemptions(props: dict[str, Any]) -> set[str]:
    """Policies this resource is exempt from: named in an annotation, with a written reason."""
    annotations = (props.get("metadata") or {}).get("annotations") or {}
    if not str(annotations.get(EXEMPT_REASON_ANNOTATION, "")).strip():
        return set()
    return {name.strip() for name in str(annotations.get(EXEMPT_ANNOTATION, "")).split(",") if name.strip()}


def evaluate(policy: Policy, resource_type: str, props: dict[str, Any]) -> list[str]:
    """Messages of `policy` for one resource (empty when it passes, does not apply, or is exempt)."""
    if resource_type not in policy.resource_types or policy.name in exemptions(props):
        return []
    if policy.check_pod is not None:
        pod = pod_spec_of(resource_type, props)
        return policy.check_pod(pod) if pod is not None else []
    return policy.check_props(props) if policy.check_props else []
