"""Batch runs named by content and left to run (finding 8), and the custom-resource APIs a stack
needs from its cluster (finding 4): the pure parts; tests/test_cluster_stack.py shows both on the
real control plane."""

from __future__ import annotations

from rdagent_infra.logic.cluster_apis import apis_for_plan, apis_for_stack
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.logic.runs import MAX_JOB_NAME, job_name
from rdagent_infra.rollouts import Move, rollout_after
from tests.test_components import resources, synth


def test_a_job_is_named_by_its_spec_and_fits_a_label_value():
    spec = {"template": {"spec": {"containers": [{"image": "r/qlib:1.0.0", "command": ["rdagent", "fin_factor"]}]}}}
    changed = {"template": {"spec": {"containers": [{"image": "r/qlib:1.0.1", "command": ["rdagent", "fin_factor"]}]}}}
    assert job_name("nightly", spec) == job_name("nightly", dict(spec))
    assert job_name("nightly", spec) != job_name("nightly", changed)
    assert job_name("nightly", spec).startswith("rdagent-run-nightly-")
    longest = job_name("a" * 62 + "-b", spec)
    assert len(longest) <= MAX_JOB_NAME and "--" not in longest


def test_the_engine_neither_waits_for_a_job_nor_deletes_a_running_one():
    _, result, _ = synth("prod")
    # The batch runs (the Elasticsearch certificates Job is a set-up step the stack does wait for).
    jobs = [job for job in resources(result, "kubernetes:batch/v1:Job") if "rdagent.io/run" in job.inputs["metadata"].get("labels", {})]
    assert jobs
    for job in jobs:
        assert job.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
        assert job.retain_on_delete, "a replaced Job would be deleted while it runs"
    cron_jobs = resources(result, "kubernetes:batch/v1:CronJob")
    assert cron_jobs and not [c for c in cron_jobs if c.retain_on_delete]
    # A scheduled run's Jobs carry the run's labels too (a Job takes them from the jobTemplate), so
    # `kubectl get jobs -l rdagent.io/run=<run>` and `runs status` find them like a one-off run's.
    for cron_job in cron_jobs:
        run = cron_job.inputs["metadata"]["labels"]["rdagent.io/run"]
        template = cron_job.inputs["spec"]["jobTemplate"]["metadata"]["labels"]
        assert template["rdagent.io/run"] == run and template["app.kubernetes.io/component"] == "run", template


def test_the_apis_a_stack_needs():
    config, _, _ = synth("staging")
    plan = plan_rollout(config.rollout, config.workloads.ui.replicas)
    kinds = [need.kind for need in apis_for_plan(config, plan)]
    # staging's certificate comes from cert-manager (workloads.ui.ingress.certManager).
    assert kinds == ["HTTPRoute", "Certificate", "PrometheusRule", "ServiceMonitor"]
    config, _, _ = synth("test", workloads={"ui": {"ingress": {"enabled": False}}})
    plan = plan_rollout(config.rollout, config.workloads.ui.replicas)
    assert apis_for_plan(config, plan) == []
    (route,) = apis_for_stack(config, plan)
    assert route.kind == "HTTPRoute" and "during every rollout" in route.why
    assert "install the Gateway API CRDs" in route.message("ctx")


def test_the_rollout_config_after_a_move():
    config, _, _ = synth("test")
    after = rollout_after(config, Move("start", {"newVersion": "0.9.0", "step": "0", "stepStartedAt": "2026-01-01T00:00:00+00:00"}))
    assert after.newVersion == "0.9.0" and after.step == 0
    plan = plan_rollout(after, config.workloads.ui.replicas)
    assert [need.kind for need in apis_for_plan(config, plan)] == ["HTTPRoute"]
    back = rollout_after(config.model_copy(update={"rollout": after}), Move("abort", {"newVersion": None, "step": "0", "stepStartedAt": None}))
    assert back.newVersion is None and back.stepStartedAt is None
    assert rollout_after(config, Move("colour", {"blueGreen.activeColor": "green"})).blueGreen.activeColor == "green"
