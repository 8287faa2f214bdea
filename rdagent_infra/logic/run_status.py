"""Where each batch run stands (`rdagent-infra runs status`): queued, admitted, running or finished,
on which node, and why a run that is not running waits, read from the objects the API server
returns: the runs' Jobs (label `rdagent.io/run`, on the Job or its pod template), their pods and the pods' FailedScheduling events.

- finished: the Job has a Complete or Failed condition (how it ended: succeeded, or the condition's
  reason and message, e.g. DeadlineExceeded);
- queued: the Job is suspended (`spec.suspend`: a queue holds it until it admits it); why: with Kueue,
  its Workload's conditions (QuotaReserved False: which quota it waits for; Evicted or Preempted);
- admitted: the Job may run but its pod has no node yet, or is not running yet; why: the latest
  FailedScheduling message of each component that reported one (the scheduler's, Karpenter's);
- running: its pod runs on a node;
- not started: a configured run with no Job yet (a scheduled run between its schedules, or a stack
  not deployed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

RUN_LABEL = "rdagent.io/run"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


@dataclass(frozen=True)
class RunStatus:
    run: str
    job: str | None
    state: str
    node: str | None = None
    why: str = ""
    started: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _condition(job: dict, kind: str) -> dict | None:
    return next((c for c in job.get("status", {}).get("conditions") or [] if c.get("type") == kind and c.get("status") == "True"), None)


def _when(event: dict) -> str:
    return event.get("lastTimestamp") or event.get("eventTime") or event.get("metadata", {}).get("creationTimestamp") or ""


def scheduling_reasons(pod: dict, events: list[dict]) -> str:
    """The latest FailedScheduling message of each component that reported one for `pod`."""
    latest: dict[str, dict] = {}
    for event in events:
        involved = event.get("involvedObject", {})
        if event.get("reason") != "FailedScheduling" or involved.get("name") != pod["metadata"]["name"]:
            continue
        if involved.get("uid") and involved["uid"] != pod["metadata"].get("uid"):
            continue
        source = event.get("reportingComponent") or event.get("source", {}).get("component") or "unknown"
        if source not in latest or _when(event) >= _when(latest[source]):
            latest[source] = event
    return "; ".join(f"{source}: {latest[source].get('message', '').strip()}" for source in sorted(latest))


def _pod_of(job: dict, pods: list[dict]) -> dict | None:
    name = job["metadata"]["name"]
    own = [p for p in pods if (p["metadata"].get("labels") or {}).get(JOB_NAME_LABEL) == name]
    return max(own, key=lambda p: p["metadata"].get("creationTimestamp", ""), default=None)


def queue_reason(workload: dict | None) -> str:
    """Why Kueue holds a Job: its Workload's conditions that say so, else that it has none yet."""
    if workload is None:
        return "suspended (spec.suspend): its queue has not admitted it"
    conditions = {c.get("type"): c for c in workload.get("status", {}).get("conditions") or []}
    queue = workload.get("spec", {}).get("queueName", "?")
    reasons = [
        f"{kind}: {conditions[kind].get('message', '').strip() or conditions[kind].get('reason', '')}"
        for kind in ("Evicted", "Preempted")
        if conditions.get(kind, {}).get("status") == "True"
    ]
    reserved = conditions.get("QuotaReserved")
    if reserved is not None and reserved.get("status") == "False":
        reasons.append(f"waits in queue {queue}: {reserved.get('message', '').strip() or reserved.get('reason', '')}")
    return "; ".join(reasons) or f"waits in queue {queue} for Kueue to admit it"


def workload_of(job: dict, workloads: list[dict]) -> dict | None:
    """Kueue's Workload for a Job: the one the Job owns (by UID)."""
    uid = job["metadata"].get("uid")
    return next((w for w in workloads if any(ref.get("uid") == uid for ref in w["metadata"].get("ownerReferences") or [])), None)


def job_status(run: str, job: dict, pods: list[dict], events: list[dict], workload: dict | None = None) -> RunStatus:
    name = job["metadata"]["name"]
    started = job.get("status", {}).get("startTime")
    pod = _pod_of(job, pods)
    node = (pod or {}).get("spec", {}).get("nodeName")
    if _condition(job, "Complete"):
        return RunStatus(run, name, "finished", node, "succeeded", started)
    failed = _condition(job, "Failed")
    if failed:
        return RunStatus(run, name, "finished", node, f"failed: {failed.get('reason', '')} {failed.get('message', '')}".strip(), started)
    if job.get("spec", {}).get("suspend"):
        return RunStatus(run, name, "queued", None, queue_reason(workload), started)
    if pod is None:
        return RunStatus(run, name, "admitted", None, "no pod yet", started)
    phase = pod.get("status", {}).get("phase")
    if phase == "Running":
        return RunStatus(run, name, "running", node, "", started)
    if not node:
        return RunStatus(run, name, "admitted", None, scheduling_reasons(pod, events) or "waiting to be scheduled", started)
    waiting = [
        f"{s['name']}: {s['state']['waiting'].get('reason', 'waiting')}"
        for s in pod.get("status", {}).get("containerStatuses") or []
        if "waiting" in (s.get("state") or {})
    ]
    return RunStatus(run, name, "admitted", node, f"starting on its node ({', '.join(waiting) or phase})", started)


def run_of(job: dict) -> str | None:
    """The run a Job belongs to: its label, or its pod template's (a CronJob's Jobs carry only that)."""
    labels = job["metadata"].get("labels") or {}
    template = job.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}
    return labels.get(RUN_LABEL) or template.get(RUN_LABEL)


def run_states(
    configured: dict[str, str | None], jobs: list[dict], pods: list[dict], events: list[dict], workloads: list[dict] | None = None
) -> list[RunStatus]:
    """One row per Job of a run (a run may have several: a CronJob's, or a changed run's new Job beside
    the old), then one per configured run without a Job. `configured`: run name -> its schedule;
    `workloads`: Kueue's Workloads of the namespace (None without the queue)."""
    ours = [(run, job) for job in jobs if (run := run_of(job)) is not None]
    rows = [
        job_status(run, job, pods, events, workload_of(job, workloads or []))
        for run, job in sorted(ours, key=lambda pair: (pair[0], pair[1]["metadata"].get("creationTimestamp", "")))
    ]
    seen = {row.run for row in rows}
    for run, schedule in sorted(configured.items()):
        if run not in seen:
            why = f"scheduled ({schedule}): no Job since the last schedule" if schedule else "no Job: is the stack deployed?"
            rows.append(RunStatus(run, None, "not started", None, why))
    return rows
