"""The e2e stack (Pulumi.e2e.yaml: every component on) applied through the real engine to the real
control plane of tests/cluster.py, then rolled out with `rdagent-infra rollout` and destroyed.

The tests of this module run in order on one deployment: up, a second up without changes, where
the runs landed, a config change beside a running Job, a canary and a blue-green rollout, destroy.
The CRDs the stack's custom resources need are the upstream ones of tests/crds.py. The real Kueue
(tests/kueue.py) runs for the whole module: the stack's queue is on (e2e has a GPU run), so each run's
Job is suspended on create and started when Kueue admits it, and destroy meets Kueue's finalizers.
"""

from __future__ import annotations

import json
import random
import time

import pytest

from rdagent_infra.defaults import LOG_SHIPPER_NAMESPACE
from rdagent_infra.logic.steps import rollout_steps
from tests import crds
from tests.cluster import GPU_NODES, RUN_LABEL, ClusterError, ControlPlane, wait_for
from tests.engine_project import Project, api_path
from tests.kueue import API as KUEUE_API
from tests.kueue import condition, running_kueue
from tests.kueue import workloads as kueue_workloads
from tests.prometheus_server import PrometheusServer
from tests.serving import ServingWatch, dips, judge, route_weights, weight_sequence
from tests.traffic_series import Load, counters_for, openmetrics

pytestmark = pytest.mark.cluster
STACK = "e2e"
NAMESPACE = "rdagent-e2e"
SHIPPER_NAMESPACE = LOG_SHIPPER_NAMESPACE
UI_PODS = "app.kubernetes.io/name=rdagent-ui,app.kubernetes.io/component=ui"


@pytest.fixture(scope="module")
def kueue(control_plane, tmp_path_factory):
    with running_kueue(control_plane, tmp_path_factory.mktemp("kueue")) as running:
        yield running


@pytest.fixture(scope="module")
def project(control_plane, kueue, engine, tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("e2e"), control_plane, STACK)
    project.pulumi("stack", "init")
    return project


def running_runs(api) -> dict[str, str]:
    """Each run Job that Kueue admitted and that runs: Job name -> its pod's UID. A Job that is
    suspended again, or whose pod was replaced, shows here as missing or with another UID."""
    jobs = {j["metadata"]["name"]: j for j in api.items(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", labelSelector=RUN_LABEL)}
    workloads = kueue_workloads(api, NAMESPACE)
    found = {}
    for name, job in jobs.items():
        pods = api.items(f"/api/v1/namespaces/{NAMESPACE}/pods", labelSelector=f"batch.kubernetes.io/job-name={name}")
        running = [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        if job["spec"].get("suspend") is False and condition(workloads.get(name, {}), "Admitted").get("status") == "True" and len(running) == 1:
            found[name] = running[0]["metadata"]["uid"]
    return found


def ui_ready_pods(plane: ControlPlane, track: str) -> list[dict]:
    pods = plane.api.items(f"/api/v1/namespaces/{NAMESPACE}/pods", labelSelector=f"{UI_PODS},rdagent.io/track={track}")
    return [p for p in pods if not p["metadata"].get("deletionTimestamp") and p["status"].get("podIP")]


def endpoint_ips(plane: ControlPlane, service: str) -> set[str]:
    endpoints = plane.api.get(f"/api/v1/namespaces/{NAMESPACE}/endpoints/{service}")
    return {address["ip"] for subset in endpoints.get("subsets") or [] for address in subset.get("addresses") or []}


def assert_matches_plan(project: Project, within: float = 60) -> None:
    """The route's weights are the plan's; each track's Deployment has the planned replicas, all ready;
    every Service's endpoints are exactly the ready pods of the tracks it selects. Controllers converge
    asynchronously (endpoints, an HPA's minimum), so the check is retried for at most `within` seconds."""
    problems: list[str] = []

    def matches() -> bool:
        problems.clear()
        try:
            _check_plan(project)
        except AssertionError as error:
            problems.append(str(error))
            return False
        return True

    try:
        wait_for(matches, within, "the cluster to match the rollout plan", interval=1)
    except ClusterError as error:
        raise AssertionError(f"{error}: {problems}") from None


def _check_plan(project: Project) -> None:
    config, plan = project.plan()
    api = project.plane.api
    route = api.get(f"/apis/gateway.networking.k8s.io/v1/namespaces/{NAMESPACE}/httproutes/rdagent-ui")
    weights = {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {f"{name}-auth": weight for name, weight in (plan.weights or {plan.primary_service: 100}).items()}, (weights, plan)
    for proxy in weights:  # each routed track's sign-in proxy: ready, sending to its own track's Service
        deployment = api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{proxy}")
        assert deployment["status"].get("readyReplicas", 0) == deployment["spec"]["replicas"] >= 1, (proxy, deployment["status"])
        args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        assert f"--upstream=http://{proxy.removesuffix('-auth')}.{NAMESPACE}.svc.cluster.local:80/" in args, (proxy, args)
    for track in plan.tracks:
        deployment = api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{track.deployment}")
        status = deployment["status"]
        assert deployment["spec"]["replicas"] == track.replicas, (track, deployment["spec"]["replicas"])
        assert status.get("readyReplicas", 0) == track.replicas and status.get("updatedReplicas", 0) == track.replicas, (track, status)
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.endswith(f":{track.version}"), (track, image)
    for service in plan.services:
        selected = [t for t in plan.tracks if all(t.labels.get(k) == v for k, v in service.selector.items())]
        expected = {p["status"]["podIP"] for t in selected for p in ui_ready_pods(project.plane, t.name)}
        assert endpoint_ips(project.plane, service.name) == expected, service
    deployments = api.items(
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", labelSelector="app.kubernetes.io/name=rdagent-ui,app.kubernetes.io/component=ui"
    )
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted(t.deployment for t in plan.tracks)


def test_without_the_gateway_api_the_program_and_rollout_refuse_upfront(project):
    """Finding 4: an HTTPRoute on a cluster without the Gateway API CRDs used to fail after a minute of
    retries; a cluster with the standard channel's HTTPRoute lacks the route's sessionPersistence."""
    api = project.plane.api
    crds.register(api, crds.PROMETHEUS_OPERATOR)
    crds.unregister(api, crds.GATEWAY_API)
    preview = project.pulumi("preview", check=False)
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0, output
    assert "does not serve HTTPRoute (httproutes.gateway.networking.k8s.io/v1), which rdagent:workloads.ui.ingress.kind gatewayApi needs" in output, output
    assert "Traceback" not in output
    assert not api.exists(f"/api/v1/namespaces/{NAMESPACE}"), "the refused preview created the namespace"

    project.edit_config(lambda c: c["rdagent:workloads"]["ui"]["ingress"].update(enabled=False))
    before = (project.dir / f"Pulumi.{STACK}.yaml").read_text()
    started = project.rollout("start", "--version", "0.9.0", check=False)
    assert started.returncode == 2, started.stdout + started.stderr
    assert "which rdagent:rollout.trafficProvider gatewayApi needs: install the Gateway API CRDs" in started.stderr
    assert "rollout: no change made" in started.stderr
    assert (project.dir / f"Pulumi.{STACK}.yaml").read_text() == before, "a refused rollout start changed the stack config"
    project.edit_config(lambda c: c["rdagent:workloads"]["ui"]["ingress"].update(enabled=True))

    crds.register(api, crds.ALL)

    # The standard channel's HTTPRoute has no sessionPersistence: refused upfront too, naming the way out.
    crds.set_route_channel(api, "standard")
    preview = project.pulumi("preview", check=False)
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0, output
    assert "serves HTTPRoute without a rule's sessionPersistence (the Gateway API's standard channel)" in output, output
    assert "or set rdagent:workloads.ui.ingress.sessionPersistence to false" in output and "Traceback" not in output
    assert not api.exists(f"/api/v1/namespaces/{NAMESPACE}"), "the refused preview created the namespace"
    crds.set_route_channel(api, "experimental")


def test_up_creates_every_object_and_each_becomes_ready(project):
    # Kueue's CRDs are the ones running_kueue registered (with the conversion webhook Kueue serves).
    crds.register(project.plane.api, [kind for kind in crds.ALL if kind not in crds.KUEUE])
    up = project.up()
    assert "created" in up.stdout
    resources = project.kubernetes_resources()
    assert len(resources) > 30, [r["urn"] for r in resources]
    api = project.plane.api
    for resource in resources:
        outputs = resource["outputs"]
        group, _, version = outputs["apiVersion"].rpartition("/")
        kind = outputs["kind"]
        listing = api.get(api_path(group, version, None) if group else "/api/v1")
        plural = next(r["name"] for r in listing["resources"] if r["kind"] == kind and "/" not in r["name"])
        namespace = outputs["metadata"].get("namespace")
        assert api.exists(api_path(group, version, namespace, outputs["metadata"]["name"], plural)), (
            f"{kind} {outputs['metadata']['name']} is not in the cluster"
        )

    for deployment in api.items(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"):
        status = deployment["status"]
        assert status.get("availableReplicas") == deployment["spec"]["replicas"] > 0, (deployment["metadata"]["name"], status)
    statefulsets = api.items(f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets")
    assert {s["metadata"]["name"] for s in statefulsets} >= {"redis", "elasticsearch"}, [s["metadata"]["name"] for s in statefulsets]
    for statefulset in statefulsets:
        assert statefulset["status"].get("readyReplicas") == statefulset["spec"]["replicas"], (statefulset["metadata"]["name"], statefulset["status"])
    for service in api.items(f"/api/v1/namespaces/{NAMESPACE}/services"):
        assert endpoint_ips(project.plane, service["metadata"]["name"]), f"Service {service['metadata']['name']} has no endpoints"
    for claim in api.items(f"/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims"):
        assert claim["status"]["phase"] == "Bound", claim["metadata"]["name"]
    assert_matches_plan(project)


def test_a_second_up_changes_nothing(project):
    again = project.up("--expect-no-changes")
    assert "unchanged" in again.stdout


def test_runs_are_left_running_and_land_on_their_pools(project):
    """Finding 8: `up` returned above while no Job has finished (pods of Jobs never complete here)."""
    api = project.plane.api
    runs = api.items(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", labelSelector=RUN_LABEL)
    jobs = {job["metadata"]["labels"][RUN_LABEL]: job for job in runs}
    assert set(jobs) == {"model-report", "ds-titanic-gpu"}, list(jobs)
    for job in jobs.values():
        ended = [c for c in job["status"].get("conditions") or [] if c["type"] in ("Complete", "Failed")]
        assert not job["status"].get("succeeded") and not ended, job["status"]
        assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
        assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "rdagent-runs"
    # Each run went through the queue: Kueue made its Workload and admitted it, then the Job started.
    wait_for(lambda: set(running_runs(api)) == {j["metadata"]["name"] for j in jobs.values()}, 60, "Kueue to admit both runs and their pods to run")
    workloads = kueue_workloads(api, NAMESPACE)
    assert {w["status"]["admission"]["clusterQueue"] for w in workloads.values()} == {"rdagent-e2e-runs"}, workloads
    # The Job controller's record that each was suspended (by Kueue's webhook) and then resumed.
    for job in api.items(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", labelSelector=RUN_LABEL):
        assert {"type": "Suspended", "status": "False"}.items() <= next((c for c in job["status"]["conditions"] if c["type"] == "Suspended"), {}).items(), job[
            "status"
        ]
    pods = api.items(f"/api/v1/namespaces/{NAMESPACE}/pods")
    gpu_pods = [p for p in pods if p["metadata"]["labels"].get("rdagent.io/run") == "ds-titanic-gpu"]
    assert len(gpu_pods) == 1 and gpu_pods[0]["spec"]["nodeName"] in GPU_NODES and gpu_pods[0]["status"]["phase"] == "Running", gpu_pods
    elsewhere = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in pods if p not in gpu_pods}
    assert elsewhere and not [name for name, node in elsewhere.items() if node in GPU_NODES], elsewhere
    assert all(elsewhere.values()), f"unscheduled pods: {elsewhere}"


def test_a_changed_run_starts_beside_the_running_job(project):
    """Finding 8: a Job's template is immutable; a changed run must not kill the running one."""
    api = project.plane.api
    jobs_path = f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs"
    before = {job["metadata"]["name"] for job in api.items(jobs_path, labelSelector="rdagent.io/run=model-report")}
    admitted_before = running_runs(api)
    assert len(admitted_before) == 2, admitted_before
    # A run's change, and a change of the queue itself (its ClusterQueue is updated in place).
    project.edit_config(
        lambda c: c["rdagent:workloads"]["runs"][0].update(args=["/data/reports/another-paper.pdf"]) or c.update({"rdagent:queue": {"maxCpu": 48}})
    )
    project.up()
    assert api.get(f"{KUEUE_API}/clusterqueues/rdagent-e2e-runs")["spec"]["resourceGroups"][1]["flavors"][0]["resources"][0]["nominalQuota"] == "48"
    # Neither `up` nor Kueue suspended or restarted a running run: same Jobs, same pods, still admitted.
    still = running_runs(api)
    assert {name: still.get(name) for name in admitted_before} == admitted_before, (admitted_before, still)
    after = {job["metadata"]["name"]: job for job in api.items(jobs_path, labelSelector="rdagent.io/run=model-report")}
    assert before < set(after), (before, list(after))
    (old,) = before
    pods = api.items(f"/api/v1/namespaces/{NAMESPACE}/pods", labelSelector=f"batch.kubernetes.io/job-name={old}")
    assert [p["status"]["phase"] for p in pods] == ["Running"] and not pods[0]["metadata"].get("deletionTimestamp"), pods
    (new,) = set(after) - before
    assert after[new]["spec"]["template"]["spec"]["containers"][0]["args"][-1] == "/data/reports/another-paper.pdf"
    wait_for(lambda: api.items(f"/api/v1/namespaces/{NAMESPACE}/pods", labelSelector=f"batch.kubernetes.io/job-name={new}"), 60, "the new run's pod")
    assert project.up("--expect-no-changes")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, real_prometheus):
    """A real Prometheus holding the Envoy sidecar's series of every UI track of this namespace, all
    healthy (1 in 2000 answered 5xx, 40 ms): every gate passes on its real PromQL."""
    healthy = {track: Load(4.0, 0.0005, 40) for track in ("stable", "canary", "blue", "green")}
    series = openmetrics(counters_for("gatewayApi", healthy, NAMESPACE), time.time(), past_minutes=120)
    with PrometheusServer(tmp_path_factory.mktemp("prom"), openmetrics=series) as server:
        yield server


def rollout_step(project: Project, watch: ServingWatch, prometheus: PrometheusServer, *args: str) -> None:
    extra = ("--prometheus", prometheus.url, "--force") if args[0] == "advance" else ()
    result = project.rollout(*args, *extra)
    print(result.stdout.splitlines()[0] if result.stdout else "", flush=True)
    assert_matches_plan(project)


# The route's weights through a canary of the e2e stack (stages 5, 25, 100 with auto-promote) and a
# blue-green with initialWeightPercent 50, incrementPercent 50, then abort: written out by hand.
# The route sends to each track's sign-in proxy (`-auth`), which sends to the track's UI Service.
CANARY_WEIGHTS = [
    {"rdagent-ui-stable-auth": 100},
    {"rdagent-ui-stable-auth": 95, "rdagent-ui-canary-auth": 5},
    {"rdagent-ui-stable-auth": 75, "rdagent-ui-canary-auth": 25},
    {"rdagent-ui-stable-auth": 0, "rdagent-ui-canary-auth": 100},
    {"rdagent-ui-stable-auth": 100},
]
BLUE_GREEN_WEIGHTS = [
    {"rdagent-ui-active-auth": 100},
    {"rdagent-ui-active-auth": 50, "rdagent-ui-preview-auth": 50},
    {"rdagent-ui-active-auth": 0, "rdagent-ui-preview-auth": 100},
    {"rdagent-ui-active-auth": 100},
]
UPSTREAMS = {f"rdagent-ui-{track}-auth": f"rdagent-ui-{track}" for track in ("stable", "canary", "active", "preview")}


def test_a_canary_goes_through_every_step_without_dropping_below_the_minimum(project, prometheus):
    config, _ = project.plan()
    minimum = config.workloads.ui.replicas
    with ServingWatch(project.plane.api.fresh(), NAMESPACE, upstreams=UPSTREAMS) as watch:
        rollout_step(project, watch, prometheus, "start", "--version", "0.9.0")
        assert project.plan()[1].weights == {"rdagent-ui-stable": 95, "rdagent-ui-canary": 5}
        for _ in range(len(config.rollout.canary.stages) - 1):
            rollout_step(project, watch, prometheus, "advance")
        assert project.plan()[1].new_weight == 100
        rollout_step(project, watch, prometheus, "advance")  # the last stage auto-promotes
    config, plan = project.plan()
    assert config.rollout.stableVersion == "0.9.0" and not config.rollout.newVersion and len(plan.tracks) == 1
    moments = watch.moments()
    assert dips(moments, minimum) == []
    assert weight_sequence(moments) == CANARY_WEIGHTS
    assert len(watch.events) > 10 and watch.relists == 0
    # The verdict does not depend on the order in which the streams delivered their events.
    for seed in range(3):
        shuffled = list(watch.events)
        random.Random(seed).shuffle(shuffled)
        assert judge(shuffled, watch.route, UPSTREAMS) == moments


def test_a_blue_green_abort_after_scale_down_brings_the_old_colour_back_before_traffic(project, prometheus):
    def blue_green(config):
        config["rdagent:rollout"].update(strategy="blueGreen", blueGreen={"initialWeightPercent": 50, "incrementPercent": 50, "fullSwitchPercent": 95})

    project.edit_config(blue_green)
    project.up()
    assert_matches_plan(project)
    config, _ = project.plan()
    minimum = config.workloads.ui.replicas
    steps = rollout_steps(config.rollout)
    with ServingWatch(project.plane.api.fresh(), NAMESPACE, upstreams=UPSTREAMS) as watch:
        rollout_step(project, watch, prometheus, "start", "--version", "1.0.0")
        for _ in range(len(steps) - 1):
            rollout_step(project, watch, prometheus, "advance")
        _, plan = project.plan()
        assert plan.final and plan.tracks[0].replicas == 0 and plan.weights[plan.services[2].name] == 100, plan
        assert not ui_ready_pods(project.plane, plan.tracks[0].name), "the old colour was not scaled to zero"
        rollout_step(project, watch, prometheus, "abort")
    _, plan = project.plan()
    assert len(plan.tracks) == 1 and plan.tracks[0].version == "0.9.0"
    moments = watch.moments()
    # The route went back to the old colour only once its pods were ready again: at no moment does a
    # weighted backend have no ready endpoint, or all of them fewer than the minimum.
    assert dips(moments, minimum) == []
    assert weight_sequence(moments) == BLUE_GREEN_WEIGHTS


def test_the_watch_reports_a_route_sent_to_an_empty_backend(project):
    """The negative control of the two tests above: under the same watch, 5% of the route sent to a
    Service that selects no pod is reported, though the other backend has pods to spare."""
    config, _ = project.plan()
    api = project.plane.api
    route_path = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NAMESPACE}/httproutes/rdagent-ui"
    before = api.get(route_path)["spec"]["rules"]
    nowhere = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "rdagent-ui-nowhere"},
        "spec": {"selector": {"test.rdagent.io/none": "x"}, "ports": [{"port": 80}]},
    }
    api.create(f"/api/v1/namespaces/{NAMESPACE}/services", nowhere)

    def patch_rules(rules):
        response = api.http.patch(route_path, json={"spec": {"rules": rules}}, headers={"Content-Type": "application/merge-patch+json"})
        assert response.status_code == 200, response.text

    try:
        with ServingWatch(api.fresh(), NAMESPACE, upstreams=UPSTREAMS) as watch:
            rules = json.loads(json.dumps(before))
            rules[0]["backendRefs"] = [{**rules[0]["backendRefs"][0], "weight": 95}, {"name": "rdagent-ui-nowhere", "port": 80, "weight": 5}]
            patch_rules(rules)
            wait_for(lambda: any(m.weights.get("rdagent-ui-nowhere") for m in watch.moments()), 30, "the watch to see the patched route")
            patch_rules(before)
            wait_for(lambda: watch.moments()[-1].weights == route_weights({"spec": {"rules": before}}), 30, "the watch to see the route restored")
    finally:
        api.delete(f"/api/v1/namespaces/{NAMESPACE}/services/rdagent-ui-nowhere")
    found = dips(watch.moments(), config.workloads.ui.replicas)
    assert found and all("rdagent-ui-nowhere" in dip and "with no ready endpoint" in dip for dip in found), found


def test_destroy_leaves_the_namespace_empty(project):
    api = project.plane.api
    project.pulumi("destroy", "--yes")
    assert not project.kubernetes_resources()

    def namespaces_gone():
        return not api.exists(f"/api/v1/namespaces/{NAMESPACE}") and not api.exists(f"/api/v1/namespaces/{SHIPPER_NAMESPACE}")

    wait_for(namespaces_gone, 120, f"namespaces {NAMESPACE} and {SHIPPER_NAMESPACE} to be deleted")
    # With Kueue running: the queue's objects are gone too, none held by a finalizer.
    kueue_left = {
        plural: [o["metadata"]["name"] for o in api.items(f"{KUEUE_API}/{plural}")]
        for plural in ("clusterqueues", "resourceflavors", "workloadpriorityclasses")
    }
    assert kueue_left == {"clusterqueues": [], "resourceflavors": [], "workloadpriorityclasses": []}, kueue_left
    leftovers = project.plane.kubectl("get", "all,pvc,configmaps,secrets,networkpolicies,httproutes,servicemonitors", "-n", NAMESPACE, "-o", "name").stdout
    assert not leftovers.strip(), leftovers
    claims = [v for v in api.items("/api/v1/persistentvolumes") if (v["spec"].get("claimRef") or {}).get("namespace") == NAMESPACE]
    assert not [v for v in claims if v["status"]["phase"] == "Bound"], claims
