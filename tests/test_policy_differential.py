"""The pack's Pod Security rules against Kubernetes' own verdict (issue 29): generated pods are judged
by our rules and by the real API server's PodSecurity admission at `restricted` (a dry-run create in
a namespace that enforces it). Where our verdict differs, the test fails with every differing pod.

The pods vary what the restricted profile reads, at the pod and at the container level (which wins
is part of what is compared): runAsNonRoot and runAsUser, allowPrivilegeEscalation, capabilities
dropped and added, the seccomp profile, host namespaces, hostPath volumes and host ports. Not
varied (left for a later round): `privileged` (the API server refuses it by validation before
admission, so admission never judges it) and the rest of baseline that our pod-security-baseline rule
reads (AppArmor, SELinux, /proc mount, sysctls, Windows HostProcess).

The negative control, run by hand when this was written: without the seccomp rule in PSS_RULES,
15 of the 383 pods are judged differently and the test names them.
"""

from __future__ import annotations

import itertools
import random

import pytest
from rdagent_policies import rules

from tests.cluster import wait_for

pytestmark = pytest.mark.cluster
NAMESPACE = "pss-differential"
PSS_RULES = (
    "run-as-non-root",
    "no-privilege-escalation",
    "drop-all-capabilities",
    "seccomp-runtime-default",
    "no-host-namespaces",
    "no-host-path-volumes",
    "no-host-ports",
    "pod-security-baseline",
)
POLICIES = {p.name: p for p in rules.RESOURCE_POLICIES}
UNSET = object()

# Each dimension: its values (UNSET leaves the field out).
DIMENSIONS = {
    "pod_non_root": (UNSET, True, False),
    "container_non_root": (UNSET, True, False),
    "container_user": (UNSET, 0, 1000),
    "escalation": (UNSET, False, True),
    "drop": (UNSET, ["ALL"], ["NET_RAW"]),
    "add": (UNSET, ["NET_BIND_SERVICE"], ["NET_ADMIN"]),
    "pod_seccomp": (UNSET, "RuntimeDefault", "Unconfined"),
    "container_seccomp": (UNSET, "RuntimeDefault", "Unconfined"),
    "host_network": (False, True),
    "host_path": (False, True),
    "host_port": (False, True),
}


def build(choice: dict) -> dict:
    container: dict = {"name": "app", "image": "registry.example.com/app:1.2.3", "ports": [{"containerPort": 8080}]}
    security: dict = {}
    if choice["container_non_root"] is not UNSET:
        security["runAsNonRoot"] = choice["container_non_root"]
    if choice["container_user"] is not UNSET:
        security["runAsUser"] = choice["container_user"]
    if choice["escalation"] is not UNSET:
        security["allowPrivilegeEscalation"] = choice["escalation"]
    capabilities = {}
    if choice["drop"] is not UNSET:
        capabilities["drop"] = choice["drop"]
    if choice["add"] is not UNSET:
        capabilities["add"] = choice["add"]
    if capabilities:
        security["capabilities"] = capabilities
    if choice["container_seccomp"] is not UNSET:
        security["seccompProfile"] = {"type": choice["container_seccomp"]}
    if security:
        container["securityContext"] = security
    if choice["host_port"]:
        container["ports"][0]["hostPort"] = 8080
    pod_security: dict = {}
    if choice["pod_non_root"] is not UNSET:
        pod_security["runAsNonRoot"] = choice["pod_non_root"]
    if choice["pod_seccomp"] is not UNSET:
        pod_security["seccompProfile"] = {"type": choice["pod_seccomp"]}
    spec: dict = {"containers": [container], "securityContext": pod_security}
    if choice["host_network"]:
        spec["hostNetwork"] = True
    if choice["host_path"]:
        spec["volumes"] = [{"name": "host", "hostPath": {"path": "/var/log"}}]
        container["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]
    return spec


def choices() -> list[dict]:
    """Every single change from a compliant pod, every pair of changes, and a seeded sample of combinations."""
    names = list(DIMENSIONS)
    compliant = {
        "pod_non_root": True,
        "container_non_root": UNSET,
        "container_user": UNSET,
        "escalation": False,
        "drop": ["ALL"],
        "add": UNSET,
        "pod_seccomp": "RuntimeDefault",
        "container_seccomp": UNSET,
        "host_network": False,
        "host_path": False,
        "host_port": False,
    }
    changes = [(name, value) for name in names for value in DIMENSIONS[name] if value is not compliant[name] and value != compliant[name]]
    found = [compliant, *({**compliant, name: value} for name, value in changes)]
    # Every pair of changes (a container setting against the pod's is among them: which one wins).
    found += [{**compliant, a: x, b: y} for (a, x), (b, y) in itertools.combinations(changes, 2) if a != b]
    every = list(itertools.product(*(DIMENSIONS[n] for n in names)))
    found += [dict(zip(names, values, strict=True)) for values in random.Random(29).sample(every, 200)]
    return found


def ours(spec: dict) -> list[str]:
    props = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    return [name for name in PSS_RULES if rules.evaluate(POLICIES[name], "kubernetes:core/v1:Pod", props)]


@pytest.fixture(scope="module")
def api(control_plane):
    api = control_plane.api
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}})
    wait_for(lambda: api.exists(f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default"), 60, "the namespace's default ServiceAccount")
    return api


def kubernetes(api, spec: dict, index: int) -> tuple[bool, str]:
    """(refused by PodSecurity, the message) for a dry-run create of the pod."""
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{index}"}, "spec": spec}
    response = api.http.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=body, params={"dryRun": "All"})
    message = response.json().get("message", "") if response.status_code >= 400 else ""
    assert response.status_code in (201, 403), (response.status_code, message, spec)
    return response.status_code == 403 and "violates PodSecurity" in message, message


def test_our_pod_security_verdicts_are_kubernetes_own(api):
    cases = choices()
    assert len(cases) > 350
    differing = []
    refused = 0
    for index, choice in enumerate(cases):
        spec = build(choice)
        flagged = ours(spec)
        rejected, message = kubernetes(api, spec, index)
        refused += rejected
        if bool(flagged) != rejected:
            differing.append({"pod": spec, "ours": flagged, "kubernetes": message or "admitted"})
    assert 0 < refused < len(cases), refused  # both verdicts occur
    assert differing == [], f"{len(differing)} of {len(cases)} pods judged differently; the first: {differing[:3]}"


# --- the API server's defaulting -------------------------------------------------------------------

WORKLOAD_PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs",
}


def workloads(folder) -> list[dict]:
    import yaml

    objects = [d for path in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    return [o for o in objects if o["kind"] in WORKLOAD_PATHS]


def flagged(obj: dict) -> set[str]:
    """The rules that find something in `obj` (the verdict; messages may quote defaulted values)."""
    return {name for name, found in verdicts(obj).items() if found}


def verdicts(obj: dict) -> dict[str, list[str]]:
    token = f"kubernetes:{obj['apiVersion'] if '/' in obj['apiVersion'] else 'core/' + obj['apiVersion']}:{obj['kind']}"
    return {p.name: rules.evaluate(p, token, obj) for p in rules.WORKLOAD_POLICIES}


@pytest.mark.parametrize("stack", ["dev", "test", "e2e", "staging", "prod"])
def test_the_api_servers_defaults_change_no_verdict_on_our_workloads(control_plane, synthesized, stack):
    """Every workload a stack renders, as written and as the API server stores it after defaulting (a
    dry-run create, read back): our rules judge both alike."""
    api = control_plane.api
    differing = {}
    objects = workloads(synthesized(stack))
    assert objects
    # A namespace of this test's own: the stacks' namespaces belong to the tests that deploy them on
    # this control plane (the e2e stack creates rdagent-e2e itself).
    namespace = f"policy-defaulting-{stack}"
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
        response = api.http.post(WORKLOAD_PATHS[obj["kind"]].format(ns=namespace), json=obj, params={"dryRun": "All"})
        assert response.status_code == 201, (obj["kind"], obj["metadata"]["name"], response.text[:500])
        stored = response.json()
        if flagged(obj) != flagged(stored):
            differing[f"{obj['kind']}/{obj['metadata']['name']}"] = sorted(flagged(obj) ^ flagged(stored))
    assert differing == {}


RESOURCES = {
    "both": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "limits only": {"limits": {"cpu": "1", "memory": "1Gi"}},  # the API server copies them into requests
    "requests only": {"requests": {"cpu": "100m", "memory": "128Mi"}},
    "none": {},
}
KIND_PATHS = {**WORKLOAD_PATHS, "Pod": "/api/v1/namespaces/{ns}/pods", "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets"}


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"])
def test_the_api_servers_defaults_change_no_verdict_on_generated_workloads(control_plane, kind):
    """Generated workloads of every kind, compliant or not (the pods above, each with requests and
    limits, limits only, requests only or none), judged as written and as the API server stores them."""
    from rdagent_policies.examples import wrap

    api = control_plane.api
    namespace = "policy-defaulting"
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    differing = []
    cases = choices()[:60]
    for index, (choice, (label, resources)) in enumerate(itertools.product(cases, RESOURCES.items())):
        spec = build(choice)
        spec["containers"][0]["resources"] = resources
        if kind in ("Job", "CronJob"):
            spec["restartPolicy"] = "Never"  # required of a Job's pods (Always is the pod default)
        _, obj = wrap(kind, spec)
        obj["metadata"] = {"name": f"w{index}", "namespace": namespace}
        response = api.http.post(KIND_PATHS[kind].format(ns=namespace), json=obj, params={"dryRun": "All"})
        assert response.status_code == 201, (kind, response.text[:500])
        before, after = flagged(obj), flagged(response.json())
        if before != after:
            differing.append((label, sorted(before ^ after), spec))
    assert differing == [], f"{len(differing)} differ; the first: {differing[:2]}"
