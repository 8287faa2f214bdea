"""Pod and container building blocks as plain Kubernetes dicts (camelCase, as the API names them).

Every workload we render takes its security settings from here, so that the policy pack's
baseline holds by construction: non-root, no privilege escalation, capabilities dropped,
RuntimeDefault seccomp, read-only root filesystem with writable volumes where needed.
"""

from __future__ import annotations

from typing import Any

from rdagent_infra import defaults as seed
from rdagent_infra.config import Resources


def pod_security_context(uid: int = seed.APP_UID, gid: int = seed.APP_GID) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "fsGroup": gid,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int = seed.APP_UID, gid: int = seed.APP_GID) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resource_requirements(resources: Resources) -> dict[str, Any]:
    requests: dict[str, Any] = {"cpu": resources.requests.cpu, "memory": resources.requests.memory}
    limits: dict[str, Any] = {"cpu": resources.limits.cpu, "memory": resources.limits.memory}
    if resources.gpus:
        requests[seed.GPU_RESOURCE] = str(resources.requests.gpu)
        limits[seed.GPU_RESOURCE] = str(resources.limits.gpu)
    return {"requests": requests, "limits": limits}


def simple_resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def http_probe(path: str, port: int | str, initial_delay_seconds: int, period_seconds: int, failure_threshold: int = 3) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": initial_delay_seconds,
        "periodSeconds": period_seconds,
        "timeoutSeconds": 5,
        "failureThreshold": failure_threshold,
    }


def gpu_scheduling(gpus: int) -> dict[str, Any]:
    """Pod spec fields that place a GPU pod on the tainted GPU pool.

    CUDA_VISIBLE_DEVICES is deliberately not set: the NVIDIA device plugin exposes only the
    allocated GPUs to the container, so the seed's fixed `0,1` would be wrong whenever fewer
    are allocated (SPEC section 7).
    """
    if gpus <= 0:
        return {}
    return {
        "tolerations": [
            {
                "key": seed.GPU_TAINT_KEY,
                "operator": "Equal",
                "value": seed.GPU_TAINT_VALUE,
                "effect": seed.GPU_TAINT_EFFECT,
            }
        ],
        "nodeSelector": {"rdagent.io/pool": "gpu"},
    }


def writable_volumes(*names_and_paths: tuple[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """emptyDir volumes and their mounts, for paths a read-only root filesystem must still write."""
    volumes = [{"name": name, "emptyDir": {}} for name, _ in names_and_paths]
    mounts = [{"name": name, "mountPath": path} for name, path in names_and_paths]
    return volumes, mounts


def namespace_metadata(name: str, enforce: str) -> dict[str, Any]:
    """A namespace's metadata with its Pod Security level enforced (and `restricted` warned about)."""
    return {
        "name": name,
        "labels": {
            "pod-security.kubernetes.io/enforce": enforce,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "app.kubernetes.io/part-of": "rdagent",
        },
    }


def labels(app: str, component: str, **extra: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "rdagent",
        "app.kubernetes.io/managed-by": "pulumi",
        **extra,
    }


def selector(app: str, component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}


def checkov_skips(reasons: dict[str, str]) -> dict[str, str]:
    """Annotations that skip checkov checks on one resource, each with its reason."""
    return {f"checkov.io/skip{index}": f"{check}={reason}" for index, (check, reason) in enumerate(sorted(reasons.items()), start=1)}


def _pod_template_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The pod spec inside a Deployment's, StatefulSet's, DaemonSet's, Job's or CronJob's spec."""
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def with_service_account(body: dict[str, Any], name: str) -> dict[str, Any]:
    """A workload body (metadata and spec) whose pods run as their own ServiceAccount `name` (never the
    namespace's `default`, which every other pod there would share)."""
    _pod_template_spec(body["spec"])["serviceAccountName"] = name
    return body


def service_account_body(name: str, namespace: str, account_labels: dict[str, str]) -> dict[str, Any]:
    """A ServiceAccount that mounts no token by default: a pod that needs one says so, with its reason."""
    return {"metadata": {"name": name, "namespace": namespace, "labels": account_labels}, "automount_service_account_token": False}
