"""Deployments that survive faults (issue 20): the faults stack (Pulumi.faults.yaml) through the
real engine on the real control plane of tests/cluster.py.

- `pulumi up` SIGKILLed at seeded points, one in each third of the stack (after N of its Kubernetes
  objects were written, read from the engine's --event-log), then the recovery of docs/runbook.md:
  the same resources as an uninterrupted update, and the same objects, whole (every kind in the
  state, and the pods, minus what the server fills in: tests/cluster_objects.py), nothing twice,
  nothing missing;
- a kill while a create is under way leaves a pending operation in the state, which the recovery clears;
- a second update while one runs is refused by the backend's lock, the stack unharmed;
- the state exported, lost and imported: the next preview has no changes;
- A, then B, then A again by config, and a rollout started then aborted: A's objects again;
- an object the API server refuses (a ResourceQuota) in the middle of an update: the error names
  the resource, the earlier objects are intact, no Python traceback;
- `rollout start` killed before its update finished (findings 5, 6): status tells the truth and
  `rollout run` finishes the move.

Each project has its own file backend and namespace (rdagent-faults-*), so nothing here meets the
e2e stack on the shared control plane; every test that changes its stack deploys one of its own
(`deployed`), so one failure never leaves a rollout, a lock or a quota for the next test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import random
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from rdagent_infra.rollouts import file_backend_locks
from tests import cluster_objects as cluster_objects_module
from tests import crds
from tests.cluster import wait_for
from tests.conftest import ROOT, budget
from tests.engine_project import UP, Project

pytestmark = pytest.mark.faults
STACK = "faults"
THIRDS = ("first-third", "middle-third", "last-third")
# Made anew by every deployment (the engine generates the artifact signing key; rdagent_infra/logic/rdagent_env.py).
GENERATED = frozenset({("rdagent-artifact-signing", "artifact-signing-key"), ("rdagent-llm-gateway-key", "gateway-key")})


def faults_project(folder: Path, plane, namespace: str) -> Project:
    crds.register(plane.api, crds.GATEWAY_API)
    project = Project(folder, plane, STACK)
    project.edit_config(lambda config: config.update({"rdagent:namespace": namespace}))
    project.namespace = namespace
    project.env["PULUMI_DEBUG_COMMANDS"] = "true"  # --event-log
    project.pulumi("stack", "init")
    return project


def kill_point(third: int, written: int) -> int:
    """After how many of the `written` Kubernetes objects an update is killed: one seeded point in
    each third of the stack, the last third reaching the object before the last."""
    low = third * written // 3 + 1
    high = written - 1 if third == 2 else (third + 1) * written // 3
    return random.Random(20 + third).randint(low, high)


def kinds_in_state(state_urns: list[str]) -> list[tuple[str, str]]:
    """(apiVersion, kind) of every Kubernetes resource type in the state, and Pods (what the
    workloads run is compared too). `kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment")."""
    kinds = {("v1", "Pod")}
    for urn in state_urns:
        token = urn.split("::")[-2].split("$")[-1]
        if token.startswith("kubernetes:"):
            group_version, kind = token[len("kubernetes:") :].split(":")
            kinds.add((group_version.removeprefix("core/"), kind))
    return sorted(kinds)


def listing(api, api_version: str, kind: str, namespace: str) -> tuple[str, dict[str, str]]:
    """Where the API server lists `kind` in the namespace, from its own discovery: (path, query)."""
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    for resource in api.get(base)["resources"]:
        if resource["kind"] == kind and "/" not in resource["name"]:
            if kind == "Namespace":
                return f"{base}/{resource['name']}", {"fieldSelector": f"metadata.name={namespace}"}
            assert resource["namespaced"], f"{kind} is cluster-scoped: the faults stack is meant to have none but its Namespace"
            return f"{base}/namespaces/{namespace}/{resource['name']}", {}
    raise AssertionError(f"the API server does not serve {kind} in {api_version}")


def cluster_objects(project: Project, kinds: list[tuple[str, str]]) -> dict[str, dict]:
    """kind/name -> the whole object minus what the server fills in (tests/cluster_objects.py), for
    every object of those kinds in the project's namespace."""
    api = project.plane.api.fresh()
    found = []
    for api_version, kind in kinds:
        path, params = listing(api, api_version, kind, project.namespace)
        found += [{**obj, "kind": kind, "apiVersion": api_version} for obj in api.items(path, **params)]
    return cluster_objects_module.keyed(found, project.namespace, GENERATED)


def workloads_ready(project: Project) -> bool:
    """Every Deployment and StatefulSet of the namespace has all its replicas ready."""
    api = project.plane.api.fresh()
    for plural in ("deployments", "statefulsets"):
        for obj in api.items(f"/apis/apps/v1/namespaces/{project.namespace}/{plural}"):
            status = obj.get("status") or {}
            if status.get("observedGeneration") != obj["metadata"]["generation"] or status.get("readyReplicas", 0) != obj["spec"].get("replicas", 1):
                return False
    return True


def settled_objects(project: Project, kinds: list[tuple[str, str]], within: float = 120) -> dict[str, dict]:
    """The namespace's objects once the controllers are done: every workload ready and two
    snapshots a second apart alike."""
    last: list[dict] = [{}]

    def settled() -> bool:
        now = cluster_objects(project, kinds)
        same = now == last[0]
        last[0] = now
        return same and workloads_ready(project)

    wait_for(settled, within, "the controllers to settle", interval=1)
    return last[0]


def assert_objects(project: Project, expected: dict[str, dict], kinds: list[tuple[str, str]], within: float = 60) -> None:
    """The namespace holds exactly `expected`, object by object (controllers converge
    asynchronously: retried for at most `within` seconds); the failure shows what differs."""
    try:
        wait_for(lambda: cluster_objects(project, kinds) == expected, within, "the expected objects")
    except Exception:
        differ = cluster_objects_module.differences(expected, cluster_objects(project, kinds))
        raise AssertionError(f"the cluster differs from what was expected (key: expected, found): {json.dumps(differ, indent=1)[:8000]}") from None


def urns(project: Project) -> list[str]:
    state = json.loads(project.pulumi("stack", "export").stdout)["deployment"]
    return sorted(r["urn"] for r in state["resources"])


def start_update(project: Project, events: Path) -> subprocess.Popen:
    return project.start(*UP, "--event-log", str(events))


def objects_written(events: Path) -> int:
    count = 0
    if events.exists():
        for line in events.read_text().splitlines():
            try:
                urn = (json.loads(line).get("resOutputsEvent") or {}).get("metadata", {}).get("urn", "")
            except ValueError:
                continue  # the line being written
            if urn and urn.split("::")[-2].split("$")[-1].startswith("kubernetes:"):
                count += 1
    return count


def cut_sidecars(project: Project) -> list[Path]:
    """The file backend's metadata sidecars (gocloud fileblob's `<file>.attrs`) that a kill left empty."""
    stacks = Path(project.env["PULUMI_BACKEND_URL"][len("file://") :]) / ".pulumi" / "stacks"
    return [path for path in stacks.glob("*/*.attrs") if path.stat().st_size == 0]


def recover(project: Project) -> list[str]:
    """The runbook's recovery after an interrupted update; returns the steps it needed."""
    steps = []
    for sidecar in cut_sidecars(project):
        sidecar.unlink()  # "error: failed to load checkpoint: EOF"
        steps.append("remove the empty sidecar")
    if file_backend_locks(project.env["PULUMI_BACKEND_URL"], "rdagent-infra", STACK):
        project.pulumi("cancel", "--yes")
        steps.append("cancel")
    project.pulumi("refresh", "--yes", "--skip-preview", "--clear-pending-creates")
    steps.append("refresh --clear-pending-creates")
    project.env["PULUMI_K8S_ENABLE_PATCH_FORCE"] = "true"
    try:
        project.up()
    finally:
        del project.env["PULUMI_K8S_ENABLE_PATCH_FORCE"]
    steps.append("up (patch force)")
    return steps


@dataclasses.dataclass
class Reference:
    """The faults stack after one uninterrupted update."""

    project: Project
    urns: list[str]
    kinds: list[tuple[str, str]]  # of the state's Kubernetes resources, and Pods
    objects: dict[str, dict]  # settled, whole (tests/cluster_objects.py)
    written: int  # Kubernetes objects the update wrote, from its event log


@pytest.fixture(scope="module")
def deployments(request, control_plane, engine, tmp_path_factory) -> dict[str, tuple[Project, subprocess.Popen]]:
    """The faults stack deployed for the reference and for every test here that asks for `deployed`
    (a stack of its own), the updates all started at the module's first use so that their waits
    overlap (the Kubernetes provider lets each Service's endpoints settle for 10 s). Each has its own
    folder, file backend and namespace: a failed deployment fails only the test that asked for it."""
    namespaces = {"reference": "rdagent-faults-ref"}
    for item in request.session.items:
        if item.path == request.path and "deployed" in item.fixturenames:
            namespaces[item.name] = "rdagent-faults-" + hashlib.sha256(item.name.encode()).hexdigest()[:10]
    started = {}
    for name, namespace in namespaces.items():
        folder = tmp_path_factory.mktemp("faults-ref" if name == "reference" else "deployed")
        project = faults_project(folder, control_plane, namespace)
        started[name] = (project, project.start(*UP, "--event-log", str(folder / "events.jsonl")))
    yield started
    for project, update in started.values():
        if update.poll() is None:
            project.kill_engine(update)


@pytest.fixture(scope="module")
def reference(deployments) -> Reference:
    project, update = deployments["reference"]
    project.finish(update, budget(600))
    state_urns = urns(project)
    kinds = kinds_in_state(state_urns)
    return Reference(project, state_urns, kinds, settled_objects(project, kinds), objects_written(project.dir.parent / "events.jsonl"))


@pytest.fixture
def deployed(deployments, control_plane, request):
    """A faults stack of this test's own, after one uninterrupted update: a test that leaves its
    stack broken (a rollout under way, a lock, a quota) harms no other test. Its namespace goes
    when the test ends."""
    project, update = deployments[request.node.name]
    project.finish(update, budget(600))
    yield project
    with contextlib.suppress(Exception):  # evidence stays in its folder; the namespace only costs the cluster
        control_plane.api.delete(f"/api/v1/namespaces/{project.namespace}")


def assert_no_changes(project: Project) -> None:
    preview = project.pulumi("preview", "--expect-no-changes", check=False)
    assert preview.returncode == 0, preview.stdout[-4000:] + preview.stderr[-2000:]


@pytest.mark.parametrize("third", range(3), ids=THIRDS)
def test_an_update_killed_part_way_recovers_to_the_uninterrupted_state(third, reference, control_plane, tmp_path):
    written = kill_point(third, reference.written)
    project = faults_project(tmp_path, control_plane, f"rdagent-faults-k{third}")
    events = tmp_path / "events.jsonl"
    update = start_update(project, events)
    try:
        wait_for(lambda: objects_written(events) >= written or update.poll() is not None, 240, f"{written} objects written", interval=0.05)
        assert update.poll() is None, f"the update ended before the kill point ({written} of {reference.written} objects)"
    finally:
        project.kill_engine(update)
    assert objects_written(events) < reference.written, "the kill came too late to interrupt anything"
    plain = project.up(check=False)  # what the user tries first
    said = plain.stdout + plain.stderr
    # The lock, or before it, a state file whose metadata sidecar the kill cut (gocloud fileblob
    # writes `<file>.attrs` in place): the engine cannot read the checkpoint at all.
    read_sidecar = f"{STACK}.json.attrs"  # the engine reads the state's own sidecar; a cut `.bak.attrs` goes unnoticed
    told = (
        "error: failed to load checkpoint: EOF" if any(p.name == read_sidecar for p in cut_sidecars(project)) else "the stack is currently locked by 1 lock(s)"
    )
    assert plain.returncode != 0 and told in said, said[-3000:]

    steps = recover(project)
    assert "cancel" in steps, steps
    assert urns(project) == reference.urns
    assert_objects(project, reference.objects, reference.kinds)
    assert "pending_operations" not in json.loads(project.pulumi("stack", "export").stdout)["deployment"]


def steps(events: Path) -> tuple[list[str], set[str]]:
    """From the engine's event log: the URNs whose create began (resourcePreEvent), and those that ended."""
    began, ended = [], set()
    if events.exists():
        for line in events.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # the line being written
            pre = (event.get("resourcePreEvent") or {}).get("metadata", {})
            if pre.get("op") == "create":
                began.append(pre["urn"])
            done = (event.get("resOutputsEvent") or {}).get("metadata", {}).get("urn")
            if done:
                ended.add(done)
    return began, ended


def deployment_under_way(events: Path) -> bool:
    began, ended = steps(events)
    return any(urn.split("::")[-2].endswith("kubernetes:apps/v1:Deployment") and urn not in ended for urn in began)


def checkpoint(project: Project) -> dict:
    """The stack's state file as the file backend holds it (read directly: after a kill the engine may refuse it)."""
    stacks = Path(project.env["PULUMI_BACKEND_URL"][len("file://") :]) / ".pulumi" / "stacks"
    (path,) = stacks.glob(f"*/{STACK}.json")
    return json.loads(path.read_text())["checkpoint"]["latest"]


def test_a_kill_during_a_create_leaves_it_pending_and_the_recovery_clears_it(control_plane, engine, tmp_path):
    """The state right after a kill says what was under way: killed while a Deployment's create had
    begun (the provider awaits its rollout), the state holds `creating` operations, each for a
    resource the finished stack has; the runbook's recovery clears them. (Not compared with the
    event log: the engine writes its events and saves its state apart, so a create can show as
    ended in one and still be pending in the other; a `make test` run caught a claim there.)"""
    project = faults_project(tmp_path, control_plane, "rdagent-faults-pending")
    events = tmp_path / "events.jsonl"
    update = start_update(project, events)
    try:
        wait_for(lambda: deployment_under_way(events) or update.poll() is not None, 240, "a Deployment's create under way", interval=0.05)
        assert update.poll() is None, "the update ended before a Deployment was created"
        time.sleep(0.5)  # the engine records a pending operation when its step begins
    finally:
        project.kill_engine(update)
    pending = [(op["resource"]["urn"], op["type"]) for op in checkpoint(project).get("pending_operations", [])]
    assert pending and {kind for _, kind in pending} == {"creating"}, pending
    recover(project)
    assert {urn for urn, _ in pending} <= set(urns(project)), "a pending create names a resource the stack does not have"
    assert "pending_operations" not in json.loads(project.pulumi("stack", "export").stdout)["deployment"]


def test_a_second_update_at_once_is_refused_by_the_lock(reference):
    project = reference.project
    events = project.dir.parent / "events-lock.jsonl"
    first = start_update(project, events)
    try:
        wait_for(
            lambda: file_backend_locks(project.env["PULUMI_BACKEND_URL"], "rdagent-infra", STACK) or first.poll() is not None, 120, "the first update's lock"
        )
        second = project.up(check=False)
        project.finish(first, budget(600))  # the first update succeeds
    finally:
        if first.poll() is None:
            project.kill_engine(first)
    assert second.returncode != 0
    assert "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end" in second.stdout + second.stderr
    assert_no_changes(project)
    assert urns(project) == reference.urns
    assert_objects(project, reference.objects, reference.kinds)


def test_state_exported_lost_and_imported_back_has_no_changes(reference, tmp_path):
    project = reference.project
    saved = tmp_path / "faults.json"
    saved.write_text(project.pulumi("stack", "export", "--show-secrets=false").stdout)
    state_files = list(Path(project.env["PULUMI_BACKEND_URL"][len("file://") :]).glob(".pulumi/stacks/rdagent-infra/faults.json*"))
    assert state_files, "no state file where the file backend keeps it"
    for path in state_files:
        path.unlink()
    lost = project.pulumi("stack", "export", check=False)
    assert lost.returncode != 0 or not json.loads(lost.stdout)["deployment"].get("resources"), "the state was not lost"
    project.pulumi("stack", "init", check=False)  # the stack itself is gone with its file
    project.pulumi("stack", "import", "--file", str(saved))
    assert urns(project) == reference.urns
    assert_no_changes(project)


def test_a_then_b_then_a_again_by_config(reference, deployed):
    project = deployed

    def b(config):
        config["rdagent:rollout"]["stableVersion"] = "0.8.1"
        config["rdagent:redis"]["maxmemory"] = "96mb"

    def a(config):
        config["rdagent:rollout"]["stableVersion"] = "0.8.0"
        config["rdagent:redis"]["maxmemory"] = "128mb"

    project.edit_config(b)
    project.up()
    # B's objects differ from A's exactly where B's config reaches: the UI's image (its Deployment and
    # the pod it runs) and Redis' config; the comparison sees each and nothing else.
    changed = settled_objects(project, reference.kinds)
    assert set(cluster_objects_module.differences(reference.objects, changed)) == {
        "ConfigMap/redis-config",
        "Deployment/rdagent-ui-stable",
        "Pod/rdagent-ui-stable-HASH-POD",
    }
    project.edit_config(a)
    project.up()
    assert_objects(project, reference.objects, reference.kinds)


def test_a_rollout_started_then_aborted_leaves_a_objects(reference, deployed):
    project = deployed
    started = project.rollout("start", "--version", "0.9.0")
    assert "start 0.9.0: 5% of traffic at step 0" in started.stdout
    during = cluster_objects(project, reference.kinds)
    assert "Deployment/rdagent-ui-canary" in during and during["HTTPRoute/rdagent-ui"] != reference.objects["HTTPRoute/rdagent-ui"]
    project.rollout("abort")
    assert_objects(project, reference.objects, reference.kinds)


def rollout_config(project: Project) -> dict:
    return yaml.safe_load((project.dir / f"Pulumi.{STACK}.yaml").read_text())["config"]["rdagent:rollout"]


def test_a_rollout_killed_before_its_update_finished_is_told_and_finished(reference, deployed):
    """Findings 5 and 6: the move is in the stack file before its update runs; a kill leaves both."""
    project = deployed
    command = [str(ROOT / ".venv" / "bin" / "rdagent-infra"), "rollout", "start", "--version", "0.9.0", "--stack", STACK]
    start = subprocess.Popen(command, cwd=project.dir, env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    canary = f"/apis/apps/v1/namespaces/{project.namespace}/deployments/rdagent-ui-canary"
    try:
        wait_for(lambda: project.plane.api.fresh().exists(canary) or start.poll() is not None, 240, "the canary Deployment")
        assert start.poll() is None, "the rollout ended before the kill"
    finally:
        project.kill_engine(start)

    status = project.rollout("status", check=False)
    told = status.stdout + status.stderr
    assert "interrupted" in told and "start 0.9.0" in told and "rollout run" in told, told
    assert rollout_config(project).get("newVersion") == "0.9.0"

    run = project.rollout("run", "--max-minutes", "0", "--prometheus", "http://127.0.0.1:9", check=False)  # no Prometheus: the gates wait
    said = run.stdout + run.stderr
    assert "finishing the interrupted move (start 0.9.0" in said, said
    assert "rollout: clearing the lock the interrupted update left (pulumi cancel --stack faults)" in said, said
    assert run.returncode == 3 and "stopped after 0 minute(s) while waiting" in said, said  # moved, then waiting on its gates
    assert_no_changes(project)
    after = project.rollout("status", check=False)
    assert "interrupted" not in after.stdout + after.stderr and "step 0" in after.stdout
    project.rollout("abort")
    assert_objects(project, reference.objects, reference.kinds)


def test_an_object_the_api_server_refuses_names_the_resource_and_keeps_the_rest(reference, deployed):
    project = deployed
    project.plane.api.apply(
        f"/api/v1/namespaces/{project.namespace}/resourcequotas",
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "faults-one-job"}, "spec": {"hard": {"count/jobs.batch": "1"}}},
    )
    wait_for(
        lambda: project.plane.api.fresh().get(f"/api/v1/namespaces/{project.namespace}/resourcequotas/faults-one-job").get("status", {}).get("used"),
        60,
        "the quota's usage",
    )

    def second_run(config):
        runs = config["rdagent:workloads"]["runs"]
        runs.append({**runs[0], "name": "model-report-second"})

    project.edit_config(second_run)
    failed = project.up(check=False)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert (
        'urn:pulumi:faults::rdagent-infra::rdagent:index:BatchRuns$kubernetes:batch/v1:Job::rdagent-runs-model-report-second" was not successfully created'
        in out
    )
    assert "exceeded quota: faults-one-job" in out
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out[-3000:]  # finding 7
    for secret in secret_values(project):
        assert secret not in out, "a secret value was printed"
    now = cluster_objects(project, reference.kinds)
    kept = {key: obj for key, obj in reference.objects.items() if not key.startswith("Pod/")}  # pods may be replaced by their controllers
    assert not cluster_objects_module.differences(kept, {key: now[key] for key in kept if key in now})
    assert not [k for k in now if k.startswith("Job/rdagent-run-model-report-second")]


def secret_values(project: Project) -> list[str]:
    shown = json.loads(project.pulumi("config", "--show-secrets", "--json").stdout)
    values = [entry["value"] for entry in shown.values() if entry.get("secret")]
    found = [leaf for value in values for leaf in json.loads(value).values()] if values else []
    assert found and all(len(secret) >= 8 for secret in found), "the faults stack has its secrets"
    return found


def test_a_refused_rollout_move_fails_clearly_and_prints_no_secret(reference, deployed):
    """Our command that wraps the engine: exit status 1, a message naming the stack, the step and the
    refused resource, the stack file back as it was, and no secret value anywhere in its output."""
    project = deployed
    project.plane.api.apply(
        f"/api/v1/namespaces/{project.namespace}/resourcequotas",
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "faults-one-deployment"}, "spec": {"hard": {"count/deployments.apps": "1"}}},
    )
    path = f"/api/v1/namespaces/{project.namespace}/resourcequotas/faults-one-deployment"
    wait_for(lambda: project.plane.api.fresh().get(path).get("status", {}).get("used"), 60, "the quota's usage")
    before = (project.dir / f"Pulumi.{STACK}.yaml").read_bytes()
    result = project.rollout("start", "--version", "0.9.0", check=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    assert "rollout: the stack faults: pulumi up failed: " in result.stderr, result.stderr
    assert "kubernetes:apps/v1:Deployment::rdagent-ui-canary" in result.stderr and "exceeded quota: faults-one-deployment" in result.stderr
    assert "the move (start 0.9.0: 5% of traffic at step 0) is not recorded" in result.stderr
    assert (project.dir / f"Pulumi.{STACK}.yaml").read_bytes() == before
    assert "Traceback" not in out and "KeyboardInterrupt" not in out
    for secret in secret_values(project):
        assert secret not in out, "a secret value was printed"
    status = project.rollout("status", check=False)
    assert "interrupted" not in status.stdout and "step 0" in status.stdout
