"""`rdagent-infra runs status` (SPEC section 6): the states read from hand-written API objects, and
the command's input errors. tests/test_karpenter.py runs it against the real control plane."""

from __future__ import annotations

import os

from typer.testing import CliRunner

from rdagent_infra.logic.run_status import RunStatus, run_states, scheduling_reasons
from tests.conftest import ROOT, run_cli


def job(
    name: str,
    run: str | None = "nightly",
    *,
    on_template: bool = False,
    suspend: bool = False,
    condition: dict | None = None,
    created: str = "2026-12-05T10:00:00Z",
) -> dict:
    labels = {"rdagent.io/run": run} if run else {}
    return {
        "metadata": {"name": name, "labels": {} if on_template else labels, "creationTimestamp": created},
        "spec": {"suspend": suspend, "template": {"metadata": {"labels": labels}}},
        "status": {"startTime": created, "conditions": [condition] if condition else []},
    }


def pod(job_name: str, phase: str = "Pending", node: str | None = None, uid: str = "u1", waiting: str | None = None) -> dict:
    status = {"phase": phase}
    if waiting:
        status["containerStatuses"] = [{"name": "rdagent", "state": {"waiting": {"reason": waiting}}}]
    return {
        "metadata": {
            "name": f"{job_name}-abcde",
            "uid": uid,
            "labels": {"batch.kubernetes.io/job-name": job_name},
            "creationTimestamp": "2026-12-05T10:00:01Z",
        },
        "spec": {"nodeName": node} if node else {},
        "status": status,
    }


def event(pod_name: str, source: str, message: str, when: str, uid: str = "u1") -> dict:
    return {
        "reason": "FailedScheduling",
        "involvedObject": {"kind": "Pod", "name": pod_name, "uid": uid},
        "source": {"component": source},
        "message": message,
        "lastTimestamp": when,
    }


def test_each_state_and_why():
    jobs = [
        job("done", condition={"type": "Complete", "status": "True"}),
        job("late", condition={"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}),
        job("held", suspend=True),
        job("fresh"),
        job("waiting"),
        job("pulling"),
        job("busy", run="weekly", on_template=True),  # a CronJob's Job: the label is on its pod template only
        job("other", run=None),  # not a run's
    ]
    pods = [pod("done", "Succeeded", "gpu-a"), pod("waiting"), pod("pulling", node="gpu-b", waiting="ContainerCreating"), pod("busy", "Running", "cpu-0")]
    events = [
        event("waiting-abcde", "default-scheduler", "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", "2026-12-05T10:00:02Z"),
        event("waiting-abcde", "karpenter", "Failed to schedule pod, incompatible with nodepool", "2026-12-05T10:00:03Z"),
        event(
            "waiting-abcde",
            "karpenter",
            "Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=gpu)",
            "2026-12-05T10:00:09Z",
        ),
        event("waiting-abcde", "karpenter", "an earlier pod of the same name", "2026-12-05T10:00:10Z", uid="u0"),
    ]
    listed = run_states({"nightly": None, "weekly": "0 3 * * 0", "never": "0 1 * * *", "gone": None}, jobs, pods, events)
    rows = {row.job: row for row in listed if row.job}
    assert [(r.run, r.state, r.why) for r in listed if r.job is None] == [
        ("gone", "not started", "no Job: is the stack deployed?"),
        ("never", "not started", "scheduled (0 1 * * *): no Job since the last schedule"),
    ]
    assert rows["done"] == RunStatus("nightly", "done", "finished", "gpu-a", "succeeded", "2026-12-05T10:00:00Z")
    assert (rows["late"].state, rows["late"].why) == ("finished", "failed: DeadlineExceeded Job was active longer than specified deadline")
    assert (rows["held"].state, rows["held"].node) == ("queued", None) and "spec.suspend" in rows["held"].why
    assert (rows["fresh"].state, rows["fresh"].why) == ("admitted", "no pod yet")
    assert (rows["waiting"].state, rows["waiting"].why) == (
        "admitted",
        "default-scheduler: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.; "
        "karpenter: Failed to schedule pod, all available instance types exceed limits for nodepool (NodePool=gpu)",
    )
    assert (rows["pulling"].state, rows["pulling"].node, rows["pulling"].why) == ("admitted", "gpu-b", "starting on its node (rdagent: ContainerCreating)")
    assert (rows["busy"].run, rows["busy"].state, rows["busy"].node) == ("weekly", "running", "cpu-0")
    assert "other" not in rows


def test_the_latest_reason_of_each_component_wins_and_other_pods_do_not_count():
    target = pod("waiting")
    events = [
        event("waiting-abcde", "karpenter", "newer", "2026-12-05T10:00:09Z"),
        event("waiting-abcde", "karpenter", "older", "2026-12-05T10:00:01Z"),
        event("someone-else", "default-scheduler", "not this pod", "2026-12-05T10:00:05Z"),
    ]
    assert scheduling_reasons(target, events) == "karpenter: newer"


def test_a_stack_without_a_cluster_or_a_readable_context_is_refused(tmp_path):
    rendered = run_cli("runs", "status", "--stack", "dev")
    assert rendered.returncode == 2 and "rdagent:cluster.mode render" in rendered.stderr and "Traceback" not in rendered.stderr, rendered.stderr
    missing = run_cli("runs", "status", "--stack", "nope")
    assert missing.returncode == 2 and "no such stack file" in missing.stderr, missing.stderr
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    unreadable = run_cli("runs", "status", "--stack", "e2e", env={"KUBECONFIG": str(tmp_path / "kubeconfig")})
    assert unreadable.returncode == 3 and "cannot load the kubeconfig context 'rdagent-e2e'" in unreadable.stderr, unreadable.stderr
    eks = run_cli("runs", "status", "--stack", "staging")
    assert eks.returncode == 2 and "rdagent:aws.accountId is not set" in eks.stderr and "--context" in eks.stderr, eks.stderr


def test_the_table_has_a_row_per_job_and_says_why(monkeypatch):
    from rdagent_infra import runs_cli
    from rdagent_infra.cli_app import app

    rows = [
        RunStatus("nightly", "nightly-1", "running", "gpu-a"),
        RunStatus("weekly", None, "not started", None, "scheduled (0 3 * * 0): no Job since the last schedule"),
    ]
    monkeypatch.setattr(runs_cli, "read_states", lambda config, context: rows)
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["runs", "status", "--stack", "e2e"], env={**os.environ})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["RUN", "JOB", "STATE", "NODE", "WHY"]
    assert lines[1].split() == ["nightly", "nightly-1", "running", "gpu-a", "-"]
    assert lines[2].split()[:4] == ["weekly", "-", "not", "started"] and lines[2].endswith("scheduled (0 3 * * 0): no Job since the last schedule")


def workload(job_uid: str, conditions: list[dict]) -> dict:
    """A Workload as Kueue v0.16.2 writes it (its shape and a message copied from tests/test_kueue.py's cluster)."""
    return {
        "metadata": {"name": "job-x-1a2b3", "ownerReferences": [{"kind": "Job", "name": "x", "uid": job_uid}]},
        "spec": {"queueName": "rdagent-runs"},
        "status": {"conditions": conditions},
    }


def test_a_queued_run_says_what_kueue_waits_for():
    waiting = job("rdagent-run-a", "a", suspend=True)
    waiting["metadata"]["uid"] = "job-a"
    other = job("rdagent-run-b", "b", suspend=True)
    other["metadata"]["uid"] = "job-b"
    message = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor rdagent-gpu, 1 more needed"
    quota = workload("job-a", [{"type": "QuotaReserved", "status": "False", "reason": "Pending", "message": message}])
    rows = {row.run: row for row in run_states({}, [waiting, other], [], [], [quota])}
    assert rows["a"] == RunStatus("a", "rdagent-run-a", "queued", None, f"waits in queue rdagent-runs: {message}", "2026-12-05T10:00:00Z")
    # A Job whose Workload Kueue has not made yet, and a stack without the queue (no Workloads read).
    assert rows["b"].why == "suspended (spec.suspend): its queue has not admitted it"
    assert run_states({}, [waiting], [], [], None)[0].why == "suspended (spec.suspend): its queue has not admitted it"
    evicted = workload("job-a", [{"type": "Evicted", "status": "True", "reason": "Preempted", "message": "Preempted to accommodate a workload"}])
    assert run_states({}, [waiting], [], [], [evicted])[0].why == "Evicted: Preempted to accommodate a workload"
