"""Issue 30, runs queued and shared: the real Kueue (v0.16.2, tests/kueue.py) admits the program's runs
with the program's own queue objects, on the real control plane.

The objects are staging's as synth renders them (its ClusterQueue `rdagent-runs` with staging's
gpu.maxGpus of 2, the shared flavors and priority classes, the LocalQueue), and the runs are staging's
GPU run Job (ds-titanic) under other names. What is expected is written here from the stack file:
2 GPUs of quota, priorities `interactive` above `scheduled`, cohort `rdagent`.

- From zero GPU nodes, with Karpenter and staging's NodePool: two of three runs are admitted and get
  nodes; the third stays suspended, with no pod and no NodeClaim, and Kueue's reason, in `runs status`
  too; it is admitted when one ends.
- A higher-priority run waiting less long is admitted first.
- A second stack of the cohort borrows the first's idle GPUs and gives them back when its runs end.
"""

from __future__ import annotations

import copy
import json

import yaml

from rdagent_infra.logic import queue as program_queue
from tests.cluster import COMPLETE_ANNOTATION, CONTEXT, wait_for
from tests.conftest import config_of, run_cli
from tests.karpenter import NODE_CLAIMS, kwok_node_pool, rendered, running_karpenter
from tests.kueue import API, MERGE_PATCH, condition, running_kueue
from tests.kueue import workloads as kueue_workloads

NAMESPACE = "rdagent"  # staging's
GPU_QUOTA = 2  # Pulumi.staging.yaml: gpu.maxGpus
WAIT = 60
KUEUE_KINDS = {"ResourceFlavor": "resourceflavors", "WorkloadPriorityClass": "workloadpriorityclasses", "ClusterQueue": "clusterqueues"}


def apply_queue(api, folder, namespace: str = NAMESPACE) -> None:
    """The namespace, the stack's Kueue objects from the synth folder, and the runs' ServiceAccount."""
    documents = [yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yaml"))]
    kueue = [d for d in documents if d["apiVersion"].startswith("kueue.x-k8s.io/")]
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for kind, plural in KUEUE_KINDS.items():
        for obj in (d for d in kueue if d["kind"] == kind):
            api.create(f"{API}/{plural}", obj)
    for obj in (d for d in kueue if d["kind"] == "LocalQueue"):
        api.create(f"{API}/namespaces/{namespace}/localqueues", obj)
    api.create(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "rdagent-run"}})


def run_job(folder, name: str, priority: str | None = None, namespace: str = NAMESPACE) -> dict:
    """Staging's GPU run Job (ds-titanic) as `name`, its claims left out, optionally with another priority."""
    (job,) = [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("Job__*rdagent-run-ds-titanic-*.yaml"))]
    job = copy.deepcopy(job)
    labels = job["metadata"]["labels"]
    assert labels["kueue.x-k8s.io/queue-name"] == "rdagent-runs" and "suspend" not in job["spec"]
    if priority:
        labels["kueue.x-k8s.io/priority-class"] = priority
    job["metadata"] = {"name": name, "namespace": namespace, "labels": labels}
    spec = job["spec"]["template"]["spec"]
    claims = {v["name"] for v in spec["volumes"] if "persistentVolumeClaim" in v}
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] not in claims]
    for container in spec["containers"]:
        container["volumeMounts"] = [m for m in container.get("volumeMounts", []) if m["name"] not in claims]
    return job


def create(api, job: dict) -> dict:
    return api.create(f"/apis/batch/v1/namespaces/{job['metadata']['namespace']}/jobs", job)


def workloads(api, namespace: str = NAMESPACE) -> dict[str, dict]:
    return kueue_workloads(api, namespace)


def admitted(api, namespace: str = NAMESPACE) -> set[str]:
    """Jobs Kueue admitted and unsuspended."""
    jobs = {j["metadata"]["name"]: j for j in api.items(f"/apis/batch/v1/namespaces/{namespace}/jobs")}
    return {
        name
        for name, w in workloads(api, namespace).items()
        if condition(w, "Admitted").get("status") == "True" and jobs.get(name, {}).get("spec", {}).get("suspend") is False
    }


def pods_of(api, job: str, namespace: str = NAMESPACE) -> list[dict]:
    return [p for p in api.items(f"/api/v1/namespaces/{namespace}/pods", labelSelector=f"job-name={job}") if not p["metadata"].get("deletionTimestamp")]


def running_on(api, job: str, namespace: str = NAMESPACE) -> str | None:
    running = [p for p in pods_of(api, job, namespace) if p.get("status", {}).get("phase") == "Running"]
    return running[0]["spec"]["nodeName"] if running else None


def finish(api, job: str, namespace: str = NAMESPACE) -> None:
    """Ends the Job's run: its pod completes (tests/cluster.py's kwok stages)."""
    (pod,) = pods_of(api, job, namespace)
    api.request(
        "PATCH",
        f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}",
        {"metadata": {"annotations": {COMPLETE_ANNOTATION: "true"}}},
        headers=MERGE_PATCH,
    )
    wait_for(lambda: condition(workloads(api, namespace)[job], "Finished").get("status") == "True", WAIT, f"{job}'s Workload to finish")


def runs_status(plane) -> list[dict]:
    result = run_cli("runs", "status", "--stack", "staging", "--json", "--context", CONTEXT, env={"KUBECONFIG": str(plane.kubeconfig)})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_three_gpu_runs_from_zero_nodes_two_admitted_the_third_queued_until_one_ends(tmp_path, new_control_plane, synthesized):
    staging = synthesized("staging")
    pool = kwok_node_pool(rendered(staging, "NodePool", "gpu"))
    with (
        new_control_plane(tmp_path / "plane", gpu_nodes=False) as plane,
        running_kueue(plane, tmp_path / "kueue") as kueue,
        running_karpenter(plane, tmp_path / "karpenter", pool),
    ):
        api = plane.api
        apply_queue(api, staging)
        names = ["run-a", "run-b", "run-c"]
        created = [create(api, run_job(staging, name)) for name in names]
        assert [job["spec"]["suspend"] for job in created] == [True, True, True], "Kueue's webhook suspends each run as it is created"

        def two_running():
            kueue.check_alive()
            running = {name: node for name in admitted(api) if (node := running_on(api, name))}
            return running if len(running) == GPU_QUOTA else None

        running = wait_for(two_running, WAIT * 2, "two runs admitted and running on their new GPU nodes")
        (waiting,) = set(names) - set(running)
        for node in running.values():
            labels = api.get(f"/api/v1/nodes/{node}")["metadata"]["labels"]
            assert labels["rdagent.io/pool"] == "gpu" and labels["karpenter.sh/nodepool"] == "gpu", labels
        reserved = condition(workloads(api)[waiting], "QuotaReserved")
        assert reserved.get("status") == "False" and "insufficient unused quota for nvidia.com/gpu in flavor rdagent-gpu" in reserved["message"], reserved
        assert api.get(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs/{waiting}")["spec"]["suspend"] is True
        assert pods_of(api, waiting) == [], "a queued run has no pod"
        assert len(api.items(NODE_CLAIMS)) == GPU_QUOTA, "a queued run makes Karpenter launch nothing"
        rows = {row["job"]: row for row in runs_status(plane)}
        assert rows[waiting]["state"] == "queued" and "waits in queue rdagent-runs: " in rows[waiting]["why"], rows[waiting]
        assert "insufficient unused quota for nvidia.com/gpu" in rows[waiting]["why"], rows[waiting]
        assert {job: rows[job]["state"] for job in running} == dict.fromkeys(running, "running"), rows

        finish(api, sorted(running)[0])
        wait_for(lambda: running_on(api, waiting), WAIT * 2, f"{waiting} to be admitted and run once a run ended")
        assert runs_status(plane) and {row["job"]: row["state"] for row in runs_status(plane)}[waiting] == "running"


def test_a_higher_priority_run_is_admitted_before_a_lower_one_that_waited_longer(tmp_path, new_control_plane, synthesized):
    staging = synthesized("staging")
    with new_control_plane(tmp_path / "plane") as plane, running_kueue(plane, tmp_path / "kueue"):
        api = plane.api
        apply_queue(api, staging)
        for name in ("busy-1", "busy-2"):
            create(api, run_job(staging, name))
        wait_for(lambda: admitted(api) == {"busy-1", "busy-2"}, WAIT, "the quota to be taken by two runs")
        create(api, run_job(staging, "nightly", priority="scheduled"))
        wait_for(lambda: condition(workloads(api).get("nightly", {}), "QuotaReserved").get("status") == "False", WAIT, "the scheduled run to wait")
        create(api, run_job(staging, "by-hand", priority="interactive"))
        wait_for(lambda: condition(workloads(api).get("by-hand", {}), "QuotaReserved").get("status") == "False", WAIT, "the interactive run to wait")
        assert workloads(api)["by-hand"]["spec"]["priority"] > workloads(api)["nightly"]["spec"]["priority"]

        finish(api, "busy-1")
        wait_for(lambda: "by-hand" in admitted(api), WAIT, "the interactive run to take the freed GPU")
        assert "nightly" not in admitted(api), "the scheduled run, though it waited longer, is admitted after the interactive one"
        finish(api, "busy-2")
        wait_for(lambda: "nightly" in admitted(api), WAIT, "the scheduled run to be admitted next")


def test_a_second_stack_of_the_cohort_borrows_idle_gpus_and_gives_them_back(tmp_path, new_control_plane, synthesized):
    """Stack B (namespace team-b, 1 GPU of its own, clusterObjects existing) borrows staging's idle
    GPUs; staging's own run waits while they are lent (reclaimWithinCohort Never: no run is stopped),
    and gets its GPU when B's runs end."""
    staging = synthesized("staging")
    second = config_of("staging", lambda raw: raw.update(namespace="team-b", queue={"clusterObjects": "existing"}) or raw["gpu"].update(maxGpus=1))
    with new_control_plane(tmp_path / "plane") as plane, running_kueue(plane, tmp_path / "kueue"):
        api = plane.api
        apply_queue(api, staging)
        api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}})
        assert [o["kind"] for o in program_queue.cluster_objects(second)] == ["ClusterQueue"]
        api.create(f"{API}/clusterqueues", program_queue.cluster_queue(second))
        api.create(f"{API}/namespaces/team-b/localqueues", program_queue.local_queue(second))
        api.create("/api/v1/namespaces/team-b/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "rdagent-run"}})

        borrowers = ["b-1", "b-2", "b-3"]
        for name in borrowers:
            create(api, run_job(staging, name, namespace="team-b"))
        wait_for(lambda: admitted(api, "team-b") == set(borrowers), WAIT, "team-b's three runs admitted: 1 GPU of its own, 2 borrowed")

        def gpu_usage() -> tuple[str, str]:
            usage = api.get(f"{API}/clusterqueues/team-b-runs").get("status", {}).get("flavorsUsage") or []
            gpu = [r for f in usage if f["name"] == "rdagent-gpu" for r in f["resources"] if r["name"] == "nvidia.com/gpu"]
            return (str(gpu[0]["total"]), str(gpu[0]["borrowed"])) if gpu else ("0", "0")

        # The ClusterQueue's status follows the admissions a moment later.
        wait_for(lambda: gpu_usage() == ("3", "2"), WAIT, "team-b's ClusterQueue to show 3 GPUs in use, 2 of them borrowed")

        create(api, run_job(staging, "own"))
        wait_for(
            lambda: condition(workloads(api).get("own", {}), "QuotaReserved").get("status") == "False", WAIT, "staging's run to wait while its GPUs are lent"
        )
        assert admitted(api, "team-b") == set(borrowers), "no borrowed run is stopped to give the GPUs back"
        finish(api, "b-1", "team-b")
        wait_for(lambda: "own" in admitted(api), WAIT, "staging's run to get a GPU back when a borrowing run ends")
        wait_for(lambda: gpu_usage() == ("2", "1"), WAIT, "team-b to borrow one GPU less")
