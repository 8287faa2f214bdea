"""The workload rules, with Kubernetes' own semantics: the Pod Security Standards as Pod Security
admission (k8s.io/pod-security-admission, policy/check_*.go) evaluates them for Kubernetes 1.33,
and the API server's defaults. Each rule takes a pod spec and returns violation messages naming
the container and the field path."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rdagent_policies.quantities import QuantityError, parse_quantity
from rdagent_policies.workloads import Container, PodSpec

# Capabilities a container may add back after dropping ALL (PSS restricted). Names are compared
# exactly, as admission does: "all" or "CAP_NET_BIND_SERVICE" do not count.
SAFE_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
VALID_SECCOMP = ("RuntimeDefault", "Localhost")
# PSS baseline "Sysctls", the safe set as of Kubernetes 1.32 (unchanged in 1.33).
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
# PSS restricted "Volume Types": the inline volume sources a pod may use.
ALLOWED_VOLUME_SOURCES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"})


def run_as_non_root(pod: PodSpec) -> list[str]:
    """PSS restricted "Running as Non-root" and "Running as Non-root user": runAsNonRoot true on
    the pod or on every container, no runAsNonRoot false anywhere, and runAsUser 0 nowhere (a pod
    value counts even where a container overrides it). A non-zero runAsUser alone is not enough."""
    found = []
    pod_non_root = pod.security("runAsNonRoot")
    if pod_non_root is False:
        found.append(f"{pod.path}.securityContext.runAsNonRoot is false; set it true")
    if pod.security("runAsUser") == 0:
        found.append(f"{pod.path}.securityContext.runAsUser is 0 (root); set a non-zero runAsUser")
    for container in pod.containers():
        own = container.security("runAsNonRoot")
        if own is False:
            found.append(f"{container.where()}: {container.path}.securityContext.runAsNonRoot is false; set it true")
        elif own is None and pod_non_root is not True:
            found.append(
                f"{container.where()}: may run as root; set {container.path}.securityContext.runAsNonRoot: true "
                f"(or {pod.path}.securityContext.runAsNonRoot: true); a non-zero runAsUser alone does not satisfy Pod Security"
            )
        if container.security("runAsUser") == 0:
            found.append(f"{container.where()}: {container.path}.securityContext.runAsUser is 0 (root); set a non-zero runAsUser")
    return found


def _requirement(container: Container, section: str, resource: str) -> tuple[object, str]:
    """A container's request or limit; a missing request defaults to the limit (API defaulting)."""
    resources = container.spec.get("resources") or {}
    value = (resources.get(section) or {}).get(resource)
    if value is None and section == "requests":
        return (resources.get("limits") or {}).get(resource), "limits"
    return value, section


def resource_requests_limits(pod: PodSpec) -> list[str]:
    found = []
    for container in pod.containers():
        if container.kind == "ephemeralContainers":
            continue  # the API forbids resources on ephemeral containers
        for resource in ("cpu", "memory"):
            limit, _ = _requirement(container, "limits", resource)
            request, source = _requirement(container, "requests", resource)
            if limit is None:
                found.append(f"{container.where()}: {container.path}.resources.limits.{resource} is not set; set it")
            if request is None:
                found.append(f"{container.where()}: {container.path}.resources.requests.{resource} is not set; set it")
            if request is None or limit is None or source == "limits":
                continue
            try:
                if parse_quantity(request) > parse_quantity(limit):
                    found.append(
                        f"{container.where()}: {container.path}.resources.requests.{resource} ({request}) is above "
                        f"limits.{resource} ({limit}); lower the request or raise the limit"
                    )
            except QuantityError as exc:
                found.append(f"{container.where()}: {container.path}.resources: {exc}")
    return found


def no_privileged(pod: PodSpec) -> list[str]:
    return [f"{c.where()}: {c.path}.securityContext.privileged is true; remove it or set false" for c in pod.containers() if c.security("privileged") is True]


def _must_be(field: str, value: bool, problem: str) -> Callable[[PodSpec], list[str]]:
    """A rule that each container sets securityContext.<field> to `value` (unset does not count).
    The fields are Linux-only: the API rejects them on Windows pods."""

    def rule(pod: PodSpec) -> list[str]:
        if pod.is_windows:
            return []
        return [f"{c.where()}: {c.path}.securityContext.{field} {problem}" for c in pod.containers() if c.security(field) is not value]

    return rule


no_privilege_escalation = _must_be("allowPrivilegeEscalation", False, "must be false; set it explicitly (unset means allowed)")
read_only_root_filesystem = _must_be("readOnlyRootFilesystem", True, "is not true; set it, with emptyDir volumes for the paths the program writes")


def drop_all_capabilities(pod: PodSpec) -> list[str]:
    if pod.is_windows:
        return []
    found = []
    for container in pod.containers():
        capabilities = container.security("capabilities") or {}
        drop = capabilities.get("drop") or []
        if "ALL" not in drop:
            hint = " (Pod Security matches the exact name ALL, not 'all')" if any(str(c).upper() == "ALL" for c in drop) else ""
            found.append(f"{container.where()}: {container.path}.securityContext.capabilities.drop must contain ALL{hint}")
        added = set(capabilities.get("add") or []) - SAFE_ADDED_CAPABILITIES
        if added:
            found.append(
                f"{container.where()}: {container.path}.securityContext.capabilities.add has {', '.join(sorted(map(str, added)))}; "
                f"only {', '.join(sorted(SAFE_ADDED_CAPABILITIES))} may be added back"
            )
    return found


def seccomp_runtime_default(pod: PodSpec) -> list[str]:
    """PSS restricted "Seccomp": RuntimeDefault or Localhost on the pod or on every container; a
    bad pod value is a violation even where every container overrides it."""
    if pod.is_windows:
        return []
    found = []
    pod_type = (pod.security("seccompProfile") or {}).get("type")
    if pod.security("seccompProfile") is not None and pod_type not in VALID_SECCOMP:
        found.append(f"{pod.path}.securityContext.seccompProfile.type is {pod_type}; set RuntimeDefault or Localhost")
    for container in pod.containers():
        profile = container.security("seccompProfile")
        if profile is not None:
            if profile.get("type") not in VALID_SECCOMP:
                found.append(f"{container.where()}: {container.path}.securityContext.seccompProfile.type is {profile.get('type')}; set RuntimeDefault")
        elif pod_type not in VALID_SECCOMP:
            found.append(
                f"{container.where()}: {pod.path}.securityContext.seccompProfile.type is not set; "
                "set seccompProfile.type: RuntimeDefault on the pod or container"
            )
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
    """PSS baseline "Host Ports". With hostNetwork the API server defaults each hostPort to its
    containerPort, so every container port of such a pod is a host port."""
    found = []
    host_network = pod.spec.get("hostNetwork") is True
    for container in pod.containers():
        for index, port in enumerate(container.spec.get("ports") or []):
            if not isinstance(port, Mapping):
                continue
            if port.get("hostPort"):
                found.append(f"{container.where()}: {container.path}.ports[{index}].hostPort is {port['hostPort']}; expose it through a Service instead")
            elif host_network and port.get("containerPort"):
                found.append(
                    f"{container.where()}: {container.path}.ports[{index}] binds host port {port['containerPort']} "
                    f"({pod.path}.hostNetwork is true, so hostPort defaults to containerPort)"
                )
    return found


def _setters(pod: PodSpec, field: str) -> list[tuple[str, object]]:
    """(path, value) of a securityContext field on the pod and on each container that sets it."""
    found = [(f"{pod.path}.securityContext.{field}", pod.security(field))] if pod.security(field) is not None else []
    return found + [(f"{c.path}.securityContext.{field}", c.security(field)) for c in pod.containers() if c.security(field) is not None]


def pod_security_baseline(pod: PodSpec) -> list[str]:
    """The PSS baseline controls the other rules do not cover: HostProcess, /proc mount type,
    sysctls, AppArmor (fields and the deprecated annotations) and SELinux."""
    found = _apparmor_annotations(pod.metadata.get("annotations") or {})
    found += [
        f"{path}.hostProcess is true; Windows HostProcess pods are privileged on the node"
        for path, value in _setters(pod, "windowsOptions")
        if value.get("hostProcess") is True
    ]
    found += [
        f"{c.where()}: {c.path}.securityContext.procMount is {c.security('procMount')}; remove it (Default keeps /proc masked)"
        for c in pod.containers()
        if c.security("procMount") not in (None, "Default")
    ]
    for index, sysctl in enumerate(pod.security("sysctls") or []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"{pod.path}.securityContext.sysctls[{index}] {sysctl.get('name')!r} is not a safe (namespaced) sysctl")
    for path, profile in _setters(pod, "appArmorProfile"):
        if profile.get("type") not in APPARMOR_TYPES:
            found.append(f"{path}.type is {profile.get('type')}; use RuntimeDefault or Localhost")
    for path, options in _setters(pod, "seLinuxOptions"):
        if options.get("type", "") not in SELINUX_TYPES:
            found.append(f"{path}.type {options.get('type')!r} is not allowed (container_t, container_init_t, container_kvm_t, container_engine_t)")
        found += [f"{path}.{key} must not be set" for key in ("user", "role") if options.get(key)]
    return found


def _apparmor_annotations(annotations: Mapping[str, object]) -> list[str]:
    """The deprecated AppArmor annotations, still evaluated by Pod Security admission."""
    return [
        f"metadata.annotations[{key!r}] is {value!r}; use runtime/default or localhost/<profile>"
        for key, value in annotations.items()
        if key.startswith(APPARMOR_ANNOTATION) and value and value != "runtime/default" and not str(value).startswith("localhost/")
    ]


def restricted_volume_types(pod: PodSpec) -> list[str]:
    found = []
    for index, volume in enumerate(pod.spec.get("volumes") or []):
        if not isinstance(volume, Mapping):
            continue
        sources = set(volume) - {"name", "hostPath"} - ALLOWED_VOLUME_SOURCES  # hostPath: no-host-path-volumes
        found += [
            f"{pod.path}.volumes[{index}] ({volume.get('name')!r}) uses {source}; Pod Security restricted allows {', '.join(sorted(ALLOWED_VOLUME_SOURCES))}"
            for source in sorted(sources)
        ]
    return found
