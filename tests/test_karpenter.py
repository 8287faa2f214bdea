"""Issue 30, GPU capacity from zero: the real Karpenter core (v1.9.0, our chart's) with its kwok cloud
provider provisions from the program's own GPU NodePool (staging's, as synth renders it) on the real
control plane, which starts here with no GPU node at all (tests/karpenter.py says what stands in for
EC2). The runs are the e2e stack's GPU run, from its rendered Job.

What is expected is written here from the stack files and AWS's published sizes, not read from the
program: staging's GPU pool is g5.2xlarge on Spot (1 GPU each), at most 2 GPUs, tainted
nvidia.com/gpu=true:NoSchedule and labelled rdagent.io/pool=gpu.
"""

from __future__ import annotations

import copy
import json

from tests.cluster import COMPLETE_ANNOTATION, wait_for
from tests.conftest import run_cli
from tests.karpenter import NODE_CLAIMS, NODE_POOLS, kwok_node_pool, rendered, running_karpenter

NAMESPACE = "rdagent-e2e"  # the e2e stack's, so that `rdagent-infra runs status --stack e2e` reads these runs
GPU_LABELS = {
    "rdagent.io/pool": "gpu",
    "nvidia.com/gpu.present": "true",
    "karpenter.sh/nodepool": "gpu",
    "node.kubernetes.io/instance-type": "g5.2xlarge",
    "karpenter.sh/capacity-type": "spot",
}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
MAX_GPUS = 2
WAIT = 90


def run_job(synthesized, name: str) -> dict:
    """The e2e stack's GPU run Job (ds-titanic-gpu) under another name, in NAMESPACE. Its claims
    (workspace, traces, data) are left out: they are not what this test is about, and the run's
    other volumes (emptyDirs, its generic ephemeral cache) stay."""
    (job,) = [j for j in _jobs(synthesized("e2e")) if j["metadata"]["name"].startswith("rdagent-run-ds-titanic-gpu")]
    job = copy.deepcopy(job)
    job["metadata"] = {"name": name, "namespace": NAMESPACE, "labels": job["metadata"].get("labels", {})}
    spec = job["spec"]["template"]["spec"]
    claims = {v["name"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] not in claims]
    for container in spec["containers"] + spec.get("initContainers", []):
        container["volumeMounts"] = [m for m in container.get("volumeMounts", []) if m["name"] not in claims]
    assert spec["nodeSelector"] == {"rdagent.io/pool": "gpu"} and {**GPU_TAINT, "operator": "Equal"} in spec["tolerations"]
    assert spec["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == "1"
    return job


def _jobs(folder):
    import yaml

    return [yaml.safe_load(path.read_text()) for path in sorted(folder.glob("Job__*.yaml"))]


def prepare_namespace(api) -> None:
    api.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    api.create(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "rdagent-run"}})


def run_pod(api, job: str) -> dict | None:
    """The Job's newest pod that is not being deleted. A Job replaces a pod that was evicted: on these
    nodes, which kwok makes Ready at once, the taint-eviction controller can still see Karpenter's
    `karpenter.sh/unregistered:NoExecute` taint when the scheduler has already bound a pod to the
    registered node, and evict it (seen once under load; docs/cluster-tests.md, finding 17)."""
    pods = [p for p in api.items(f"/api/v1/namespaces/{NAMESPACE}/pods", labelSelector=f"job-name={job}") if not p["metadata"].get("deletionTimestamp")]
    return max(pods, key=lambda p: p["metadata"]["creationTimestamp"], default=None)


def running_on(api, job: str) -> str | None:
    """The node the Job's current pod runs on (Running, not only bound)."""
    pod = run_pod(api, job)
    return pod["spec"].get("nodeName") if pod and pod.get("status", {}).get("phase") == "Running" else None


def node_of(api, job: str) -> str | None:
    pod = run_pod(api, job)
    return (pod or {}).get("spec", {}).get("nodeName")


def karpenter_nodes(api) -> list[dict]:
    return [n for n in api.items("/api/v1/nodes") if "karpenter.sh/nodepool" in n["metadata"].get("labels", {})]


def events_of(api, pod_name: str) -> list[str]:
    events = api.items(f"/api/v1/namespaces/{NAMESPACE}/events", fieldSelector=f"involvedObject.name={pod_name}")
    return [f"{e.get('reason')}: {e.get('message')}" for e in events]


def runs_status(plane) -> list[dict]:
    """`rdagent-infra runs status --stack e2e --json` against `plane` (whose context is the e2e stack's)."""
    result = run_cli("runs", "status", "--stack", "e2e", "--json", env={"KUBECONFIG": str(plane.kubeconfig)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_gpu_run_gets_a_node_from_zero_and_the_node_goes_when_the_run_ends(synthesized, tmp_path, new_control_plane):
    pool = kwok_node_pool(rendered(synthesized("staging"), "NodePool", "gpu"), consolidate_after="5s")
    with new_control_plane(tmp_path / "plane", gpu_nodes=False) as plane, running_karpenter(plane, tmp_path / "karpenter", pool):
        api = plane.api
        assert [n for n in api.items("/api/v1/nodes") if n["metadata"]["labels"].get("rdagent.io/pool") == "gpu"] == []
        prepare_namespace(api)
        api.create(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", run_job(synthesized, "gpu-run"))
        untolerated = run_job(synthesized, "untolerated")
        untolerated["spec"]["template"]["spec"].pop("tolerations")
        api.create(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", untolerated)

        node_name = wait_for(lambda: running_on(api, "gpu-run"), WAIT, "the GPU run to run on a node")
        # It was Pending first: the scheduler found no node for it among the CPU nodes (an event on the
        # Job's first pod, which may since have been replaced: see run_pod).
        events = api.items(f"/api/v1/namespaces/{NAMESPACE}/events", fieldSelector="reason=FailedScheduling")
        scheduler = [e["message"] for e in events if e["involvedObject"]["name"].startswith("gpu-run-") and e["message"].startswith("0/")]
        assert scheduler, [e["message"] for e in events]
        node = api.get(f"/api/v1/nodes/{node_name}")
        labels = node["metadata"]["labels"]
        assert {key: labels.get(key) for key in GPU_LABELS} == GPU_LABELS, labels
        assert GPU_TAINT in [{k: t[k] for k in ("key", "value", "effect")} for t in node["spec"].get("taints", [])], node["spec"]
        assert node["status"]["capacity"]["nvidia.com/gpu"] == "1", node["status"]["capacity"]
        # Karpenter writes the node's name into its claim's status a moment after the pod may run there.
        (claim,) = wait_for(
            lambda: [c for c in api.items(NODE_CLAIMS) if c.get("status", {}).get("nodeName") == node_name], WAIT, "the NodeClaim to name its node"
        )
        assert claim["metadata"]["labels"]["karpenter.sh/nodepool"] == "gpu" and len(api.items(NODE_CLAIMS)) == 1

        # The pod without the toleration: Karpenter says why the pool cannot serve it, and makes no claim.
        pod = run_pod(api, "untolerated")
        reasons = wait_for(lambda: [e for e in events_of(api, pod["metadata"]["name"]) if "did not tolerate" in e], WAIT, "Karpenter's reason")
        assert "nvidia.com/gpu=true:NoSchedule" in reasons[0], reasons
        assert node_of(api, "untolerated") is None and len(api.items(NODE_CLAIMS)) == 1

        # The run ends: its node is empty and goes (consolidateAfter shortened to 5 s), its claim too.
        api.delete(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/untolerated?propagationPolicy=Background")
        run = run_pod(api, "gpu-run")
        patch = {"metadata": {"annotations": {COMPLETE_ANNOTATION: "true"}}}
        api.request("PATCH", f"/api/v1/namespaces/{NAMESPACE}/pods/{run['metadata']['name']}", patch, headers={"Content-Type": "application/merge-patch+json"})
        wait_for(lambda: (run_pod(api, "gpu-run") or {}).get("status", {}).get("phase") == "Succeeded", WAIT, "the run to end")
        wait_for(lambda: not karpenter_nodes(api) and not api.items(NODE_CLAIMS), WAIT, "the empty GPU node and its claim to go")
        (row,) = [r for r in runs_status(plane) if r["job"] == "gpu-run"]
        assert (row["run"], row["state"], row["why"], row["node"]) == ("ds-titanic-gpu", "finished", "succeeded", node_name), row


def test_the_pools_gpu_limit_stops_a_launch_beyond_it_and_raising_it_lets_the_run_start(synthesized, tmp_path, new_control_plane):
    pool = kwok_node_pool(rendered(synthesized("staging"), "NodePool", "gpu"))
    assert pool["spec"]["limits"] == {"nvidia.com/gpu": str(MAX_GPUS)}
    with new_control_plane(tmp_path / "plane", gpu_nodes=False) as plane, running_karpenter(plane, tmp_path / "karpenter", pool):
        api = plane.api
        prepare_namespace(api)
        jobs = [f"gpu-run-{index}" for index in range(MAX_GPUS + 1)]
        for job in jobs:
            api.create(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", run_job(synthesized, job))

        def running() -> dict[str, str]:
            return {job: node for job in jobs if (node := running_on(api, job))}

        placed = wait_for(lambda: (found := running()) and len(found) >= MAX_GPUS and found, WAIT, f"{MAX_GPUS} runs to be running")
        assert len(set(placed.values())) == MAX_GPUS, placed  # a g5.2xlarge has one GPU: one run per node
        (waiting,) = set(jobs) - set(placed)
        pod = run_pod(api, waiting)
        reasons = wait_for(lambda: [e for e in events_of(api, pod["metadata"]["name"]) if "exceed limits" in e], WAIT, "Karpenter's reason")
        assert "all available instance types exceed limits for nodepool (NodePool=gpu)" in reasons[0], reasons
        assert len(api.items(NODE_CLAIMS)) == MAX_GPUS and len(karpenter_nodes(api)) == MAX_GPUS and node_of(api, waiting) is None
        # What a team sees: two runs running on their nodes, the third admitted and waiting, and why.
        expected = {job: ("running", node) for job, node in placed.items()}
        rows = wait_for(
            lambda: (
                (found := {row["job"]: row for row in runs_status(plane)})
                and {job: (found[job]["state"], found[job]["node"]) for job in placed} == expected
                and found
            ),
            WAIT,
            f"runs status to show {expected}",
        )
        assert rows[waiting]["state"] == "admitted" and rows[waiting]["node"] is None, rows[waiting]
        assert "karpenter: Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=gpu)" in rows[waiting]["why"], rows[
            waiting
        ]

        # The control: the same pool with room for one more GPU serves the waiting run.
        patch = {"spec": {"limits": {"nvidia.com/gpu": str(MAX_GPUS + 1)}}}
        api.request("PATCH", f"{NODE_POOLS}/gpu", patch, headers={"Content-Type": "application/merge-patch+json"})
        wait_for(lambda: node_of(api, waiting), WAIT, "the waiting run to get a node once the limit allows it")
        assert len(api.items(NODE_CLAIMS)) == MAX_GPUS + 1
