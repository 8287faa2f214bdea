"""rdagent:queue, as configured and rendered: where the queue is on, what the config refuses, and the
objects and labels synth writes. tests/test_kueue.py applies them to the real Kueue."""

from __future__ import annotations

import pytest

from rdagent_infra.config import ConfigError
from rdagent_infra.logic.runs import job_name
from tests.conftest import config_of
from tests.manifests import find, load_manifests, one


def refusal(stack: str, edit) -> str:
    with pytest.raises(ConfigError) as caught:
        config_of(stack, edit)
    return str(caught.value)


# Written from the stack files by hand: staging and prod are production-like; e2e has a GPU run
# (ds-titanic-gpu); dev, test and faults have neither.
QUEUE_ON = {"dev": False, "test": False, "faults": False, "e2e": True, "staging": True, "prod": True}


@pytest.mark.parametrize("stack", sorted(QUEUE_ON))
def test_the_queue_is_on_in_staging_prod_and_where_a_run_asks_for_gpus(stack):
    assert config_of(stack).queue_enabled() is QUEUE_ON[stack]


def test_the_queue_can_be_turned_off_and_on_against_the_default():
    assert config_of("staging", lambda raw: raw.update(queue={"enabled": False})).queue_enabled() is False
    assert config_of("dev", lambda raw: raw.update(queue={"enabled": True})).queue_enabled() is True


def test_a_run_beyond_the_quota_or_with_an_unknown_priority_is_refused_where_it_is_written():
    def gpus(raw):
        raw["gpu"]["maxGpus"] = 1
        raw["workloads"]["runs"][0]["resources"] = {
            "requests": {"cpu": "1", "memory": "2Gi", "gpu": 2},
            "limits": {"cpu": "2", "memory": "4Gi", "gpu": 2},
        }

    message = refusal("prod", gpus)
    assert "rdagent:workloads.runs[0].resources.requests.gpu: 2 GPUs is more than the queue's quota, gpu.maxGpus (1)" in message
    message = refusal("prod", lambda raw: raw.update(queue={"maxCpu": 1}) or raw["workloads"]["runs"][0]["resources"]["requests"].update(cpu="2"))
    assert "rdagent:workloads.runs[0].resources.requests.cpu: 2 is more than the queue's quota, queue.maxCpu (1)" in message
    message = refusal("prod", lambda raw: raw["workloads"]["runs"][0].update(priority="urgent"))
    assert "rdagent:workloads.runs[0].priority: names no class of queue.priorities (scheduled, interactive): 'urgent'" in message
    # The same run is accepted with the queue off (preflight checks the GPU pool instead).
    assert config_of("prod", lambda raw: raw["workloads"]["runs"][0].update(priority="urgent") or raw.update(queue={"enabled": False}))


def test_the_queue_section_is_checked_on_its_own():
    message = refusal("staging", lambda raw: raw.update(queue={"cohort": None, "borrowingLimitGpus": 1}))
    assert "rdagent:queue.borrowingLimitGpus: borrowing and lending happen within a cohort" in message
    message = refusal("staging", lambda raw: raw.update(queue={"oneOffPriority": "urgent"}))
    assert "rdagent:queue.oneOffPriority: names no class of queue.priorities (scheduled, interactive): 'urgent'" in message
    twice = [{"name": "low", "value": 1}, {"name": "low", "value": 2}]
    message = refusal("staging", lambda raw: raw.update(queue={"priorities": twice, "scheduledPriority": "low", "oneOffPriority": "low"}))
    assert "rdagent:queue.priorities: each priority class once: low repeated" in message


def test_staging_renders_its_queue_with_the_gpu_pools_limit_as_its_gpu_quota(synthesized):
    manifests = load_manifests(synthesized("staging"))
    queue = one(manifests, "ClusterQueue", "rdagent-runs")["spec"]
    pool = one(manifests, "NodePool", "gpu")["spec"]
    # Pulumi.staging.yaml: gpu.maxGpus 2. The NodePool's limit and the queue's quota are that number.
    assert pool["limits"] == {"nvidia.com/gpu": "2"}
    assert queue["resourceGroups"][0] == {
        "coveredResources": ["nvidia.com/gpu"],
        "flavors": [{"name": "rdagent-gpu", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": "2"}]}],
    }
    assert queue["cohortName"] == "rdagent" and queue["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "rdagent"}}
    assert queue["preemption"] == {"withinClusterQueue": "Never", "reclaimWithinCohort": "Never"}
    flavor = one(manifests, "ResourceFlavor", "rdagent-gpu")["spec"]
    assert flavor == {"nodeLabels": {"rdagent.io/pool": "gpu"}, "nodeTaints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]}
    assert {m["metadata"]["name"]: m["value"] for m in find(manifests, "WorkloadPriorityClass")} == {"scheduled": 100, "interactive": 1000}
    assert one(manifests, "LocalQueue", "rdagent-runs")["spec"] == {"clusterQueue": "rdagent-runs"}


def test_each_run_names_its_queue_and_priority_and_leaves_suspend_to_kueue(synthesized):
    manifests = load_manifests(synthesized("staging"))
    (job,) = [m for m in find(manifests, "Job") if m["metadata"]["labels"].get("rdagent.io/run") == "ds-titanic"]
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "rdagent-runs"
    assert job["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] == "interactive"
    assert "suspend" not in job["spec"], "Kueue's webhook sets spec.suspend; a Job that applied it could stop an admitted run"
    cron = one(manifests, "CronJob", "rdagent-run-ds-nightly")
    template = cron["spec"]["jobTemplate"]
    assert template["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "rdagent-runs"
    assert template["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] == "scheduled"
    assert "suspend" not in template["spec"]


def test_a_stack_without_the_queue_renders_no_kueue_object_and_no_queue_label(synthesized):
    manifests = load_manifests(synthesized("test"))
    assert not [m for m in manifests if m["apiVersion"].startswith("kueue.x-k8s.io/")]
    assert not [m for m in find(manifests, "Job") if any(k.startswith("kueue.x-k8s.io/") for k in m["metadata"]["labels"])]


def test_a_run_that_moves_to_another_priority_is_a_new_job():
    spec = {"template": {"spec": {"containers": []}}}
    interactive = job_name("ds", spec, {"kueue.x-k8s.io/queue-name": "q", "kueue.x-k8s.io/priority-class": "interactive"})
    scheduled = job_name("ds", spec, {"kueue.x-k8s.io/queue-name": "q", "kueue.x-k8s.io/priority-class": "scheduled"})
    assert interactive != scheduled
    assert job_name("ds", spec) == job_name("ds", spec, {}), "without the queue, names stay those of before"


def test_on_an_existing_cluster_the_queue_needs_kueues_v1beta2_apis():
    from rdagent_infra.logic.cluster_apis import apis_for_stack
    from rdagent_infra.logic.rollout import plan_rollout

    def needs(stack: str, edit=None) -> set[str]:
        config = config_of(stack, edit)
        return {f"{n.plural}.{n.group}/{n.version}" for n in apis_for_stack(config, plan_rollout(config.rollout, config.workloads.ui.replicas))}

    kueue = {f"{plural}.kueue.x-k8s.io/v1beta2" for plural in ("clusterqueues", "localqueues", "resourceflavors", "workloadpriorityclasses")}
    assert kueue <= needs("e2e")
    assert not kueue & needs("e2e", lambda raw: raw.update(queue={"enabled": False}))
    # On EKS the program installs Kueue itself: synth checks that its chart comes first (crd_servers).
    assert not kueue & needs("staging")
