"""The real control plane itself (tests/cluster.py): scheduling onto the simulated node pools with
the program's own pod settings, Pod Security admission, volume binding, and pods of Jobs that keep
running. The stacks applied to it through the engine are in tests/test_cluster_stack.py."""

from __future__ import annotations

import pytest

from rdagent_infra import defaults as seed
from rdagent_infra.logic.pods import container_security_context, gpu_scheduling, pod_security_context
from tests.cluster import COMPLETE_ANNOTATION, CPU_NODES, GPU_NODES, RUN_LABEL, STOP_DELAY_ANNOTATION, STORAGE_CLASS, ClusterError, wait_for
from tests.conftest import budget

pytestmark = pytest.mark.cluster
NAMESPACE = "plane-checks"


@pytest.fixture(scope="module")
def api(control_plane):
    api = control_plane.api
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}})
    wait_for(lambda: api.exists(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default"), 60, "the namespace's default ServiceAccount")
    return api


def pod(name: str, gpus: int = 0, tolerate: bool = True, **spec) -> dict:
    resources = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
    scheduling = gpu_scheduling(gpus)
    if gpus:
        resources["requests"][seed.GPU_RESOURCE] = resources["limits"][seed.GPU_RESOURCE] = str(gpus)
        if not tolerate:
            scheduling.pop("tolerations")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "securityContext": pod_security_context(),
            "automountServiceAccountToken": False,
            "containers": [{"name": "main", "image": "busybox:1.37", "resources": resources, "securityContext": container_security_context()}],
            **scheduling,
            **spec,
        },
    }


def pod_path(name: str) -> str:
    return f"/api/v1/namespaces/{NAMESPACE}/pods/{name}"


def running_on(api, name: str) -> str:
    def bound_and_ready():
        status = api.get(pod_path(name))
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status["status"].get("conditions", []))
        return status["spec"].get("nodeName") if ready else None

    return wait_for(bound_and_ready, 60, f"pod {name} to be scheduled and Ready")


def test_the_scheduler_places_gpu_pods_on_the_gpu_pool_only(api):
    api.create(f"/api/v1/namespaces/{NAMESPACE}/pods", pod("gpu-run", gpus=1))
    for index in range(4):
        api.create(f"/api/v1/namespaces/{NAMESPACE}/pods", pod(f"cpu-{index}"))
    api.create(f"/api/v1/namespaces/{NAMESPACE}/pods", pod("gpu-untolerated", gpus=1, tolerate=False))

    assert running_on(api, "gpu-run") in GPU_NODES
    cpu_nodes = {running_on(api, f"cpu-{index}") for index in range(4)}
    assert cpu_nodes <= set(CPU_NODES), f"a CPU pod landed on a GPU node: {cpu_nodes}"

    def unschedulable():
        conditions = api.get(pod_path("gpu-untolerated"))["status"].get("conditions", [])
        return next((c for c in conditions if c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"), None)

    condition = wait_for(unschedulable, 60, "the scheduler to report the untolerated GPU pod unschedulable")
    status = api.get(pod_path("gpu-untolerated"))
    assert status["status"]["phase"] == "Pending" and not status["spec"].get("nodeName")
    print("scheduler:", condition["message"])
    assert "1 node(s) had untolerated taint" in condition["message"], condition["message"]


def test_admission_rejects_a_pod_breaking_the_restricted_profile(api):
    root = pod("root-shell")
    root["spec"]["securityContext"] = {}
    # Root, privilege escalation allowed, no seccomp profile (privileged itself is refused earlier, by validation).
    root["spec"]["containers"][0]["securityContext"] = {"runAsUser": 0, "allowPrivilegeEscalation": True}
    with pytest.raises(ClusterError) as refused:
        api.create(f"/api/v1/namespaces/{NAMESPACE}/pods", root)
    message = str(refused.value)
    print("admission:", message)
    assert " 403 " in message and 'violates PodSecurity "restricted:latest"' in message
    assert "allowPrivilegeEscalation" in message and "runAsNonRoot" in message and "seccompProfile" in message
    assert not api.exists(pod_path("root-shell"))


def test_a_claim_without_a_class_binds_through_the_default_class(api):
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "scratch", "namespace": NAMESPACE},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    api.create(f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims", claim)
    path = f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims/scratch"
    bound = wait_for(lambda: (c := api.get(path))["status"].get("phase") == "Bound" and c, 60, "the claim to bind")
    assert bound["spec"]["storageClassName"] == STORAGE_CLASS
    volume = api.get(f"/api/v1/persistentvolumes/{bound['spec']['volumeName']}")
    assert volume["status"]["phase"] == "Bound" and volume["spec"]["claimRef"]["name"] == "scratch"


def job(name: str, labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict:
    template = pod("ignored")
    template["spec"]["restartPolicy"] = "Never"
    metadata = {"labels": {"job": name, **labels}, "annotations": annotations or {}}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"backoffLimit": 0, "template": {"metadata": metadata, "spec": template["spec"]}},
    }


def test_pods_of_runs_keep_running_like_a_long_batch_run_and_set_up_jobs_finish(api):
    jobs = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
    api.create(jobs, job("long-run", {RUN_LABEL: "long-run"}))
    api.create(jobs, job("set-up", {}))
    api.create(jobs, job("finished-run", {RUN_LABEL: "finished-run"}, {COMPLETE_ANNOTATION: "true"}))

    def running_pod():
        pods = api.items(f"/api/v1/namespaces/{NAMESPACE}/pods", labelSelector="job=long-run")
        return pods if pods and all(p["status"].get("phase") == "Running" for p in pods) else None

    def succeeded(name: str):
        return lambda: api.get(f"{jobs}/{name}")["status"].get("succeeded")

    wait_for(running_pod, 60, "the run's pod to run")
    # A set-up step (no run label) and a run annotated to finish complete as kwok's own stage says.
    wait_for(succeeded("set-up"), 60, "the set-up Job to succeed")
    wait_for(succeeded("finished-run"), 60, "the annotated run to succeed")
    # kwok's own stage would finish the run within a second; here it keeps running.
    with pytest.raises(ClusterError):
        wait_for(succeeded("long-run"), 5, "the run to succeed")
    assert running_pod()


# --- deletion: the stand-in kubelet stops a pod before it deletes it -------------------------------

LATE = 3  # seconds: how late the stand-in kubelet acts on a deleted pod, as a loaded kwok was


def deleted_in_the_foreground(api, namespace: str, name: str, within: float) -> dict | None:
    """A Deployment of one pod with an ephemeral claim (like the UI's L3 cache), its pod stopped LATE
    seconds after it is deleted, deleted in the foreground as the Kubernetes provider deletes. None
    once the Deployment is gone; else what holds the pod and the claim `within` seconds later."""
    template = pod("ignored")
    template["spec"]["containers"][0]["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
    template["spec"]["volumes"] = [
        {"name": "cache", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}
    ]
    labels = {"app": name}
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    api.create(
        deployments,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels, "annotations": {STOP_DELAY_ANNOTATION: f"{LATE}s"}}, "spec": template["spec"]},
            },
        },
    )
    wait_for(lambda: api.get(f"{deployments}/{name}")["status"].get("readyReplicas") == 1, 60, f"Deployment {name} to be ready")
    api.request("DELETE", f"{deployments}/{name}", {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground"})
    try:
        wait_for(lambda: not api.exists(f"{deployments}/{name}"), within, f"Deployment {name} to go")
        return None
    except ClusterError:
        held = {}
        for plural in ("pods", "persistentvolumeclaims"):
            for item in api.items(f"/api/v1/namespaces/{namespace}/{plural}"):
                meta = item["metadata"]
                if meta["name"].startswith(name):
                    held[f"{plural}/{meta['name']}"] = (meta.get("finalizers"), meta.get("deletionGracePeriodSeconds"))
        return held


def test_a_pod_deleted_in_the_foreground_frees_its_ephemeral_claim(api):
    """The hang seen under a loaded `make test` (a canary and a blue-green colour outlived their
    deletion by 600 s), here on purpose: the kubelet stand-in stops the pod LATE seconds after the
    delete. Stopped, then deleted with grace 0 as a kubelet does, the pod frees its claim."""
    assert deleted_in_the_foreground(api, NAMESPACE, "late-kubelet", within=LATE + 60) is None


def test_kwoks_own_deletion_of_a_running_pod_leaves_it_and_its_claim_forever(tmp_path, new_control_plane):
    """The negative control: on a control plane with kwok's own `pod-delete` (the pod deleted with its
    containers still running), the same deletion never ends. PVC protection looked at the claim while
    the pod was running and is not told again; the pod waits on the claim in the foreground."""
    with new_control_plane(tmp_path, stop_before_delete=False) as plane:
        plane.api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "stock"}})
        wait_for(lambda: plane.api.exists("/api/v1/namespaces/stock/serviceaccounts/default"), 60, "the default ServiceAccount")
        # A deletion that works ends within a second of the stop; this one is given ten.
        held = deleted_in_the_foreground(plane.api, "stock", "stock-kwok", within=LATE + 10)
    print("held:", held)
    assert held, f"kwok's own deletion freed the claim within {budget(LATE + 10):.0f} s"
    pods = {key: value for key, value in held.items() if key.startswith("pods/")}
    claims = {key: value for key, value in held.items() if key.startswith("persistentvolumeclaims/")}
    assert [finalizers for finalizers, _ in pods.values()] == [["foregroundDeletion"]]
    assert [grace for _, grace in pods.values()] == [0]
    assert [finalizers for finalizers, _ in claims.values()] == [["kubernetes.io/pvc-protection"]]
