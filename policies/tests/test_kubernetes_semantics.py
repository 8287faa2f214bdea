"""Where the rules used to differ from Kubernetes, one test each: the Pod Security Standards as
Pod Security admission evaluates them (k8s.io/pod-security-admission policy/check_*.go, 1.33) and
the API server's defaults (requests from limits, hostPort under hostNetwork, Windows pods)."""

from __future__ import annotations

import copy

import pytest
from rdagent_policies import rules

POLICIES = {p.name: p for p in rules.RESOURCE_POLICIES}
GOOD_CONTAINER = {
    "name": "app",
    "image": "registry.example.com/app:1.2.3",
    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
}


def pod(**spec):
    base = {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [copy.deepcopy(GOOD_CONTAINER)]}
    base.update(spec)
    return base


def check(policy: str, spec: dict, annotations: dict | None = None) -> list[str]:
    props = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": annotations or {}}, "spec": spec}
    return rules.evaluate(POLICIES[policy], "kubernetes:core/v1:Pod", props)


def container(spec: dict, **security) -> dict:
    spec["containers"][0]["securityContext"].update(security)
    return spec


def test_a_non_zero_run_as_user_alone_is_not_run_as_non_root():
    spec = pod()
    spec["containers"][0]["securityContext"] = {**GOOD_CONTAINER["securityContext"], "runAsUser": 1000}
    del spec["containers"][0]["securityContext"]["runAsNonRoot"]
    found = check("run-as-non-root", spec)
    assert found and "a non-zero runAsUser alone does not satisfy Pod Security" in found[0]


def test_pod_level_run_as_non_root_false_fails_even_when_containers_say_true():
    spec = pod()
    spec["securityContext"]["runAsNonRoot"] = False
    assert check("run-as-non-root", spec) == ["spec.securityContext.runAsNonRoot is false; set it true"]


def test_pod_level_run_as_user_0_fails_even_when_containers_override_it():
    spec = container(pod(), runAsUser=1000)
    spec["securityContext"]["runAsUser"] = 0
    assert check("run-as-non-root", spec) == ["spec.securityContext.runAsUser is 0 (root); set a non-zero runAsUser"]


def test_pod_level_unconfined_seccomp_fails_even_when_containers_override_it():
    spec = container(pod(), seccompProfile={"type": "RuntimeDefault"})
    spec["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert check("seccomp-runtime-default", spec) == ["spec.securityContext.seccompProfile.type is Unconfined; set RuntimeDefault or Localhost"]


def test_windows_pods_are_not_asked_for_linux_only_fields():
    spec = pod(os={"name": "windows"}, securityContext={})
    spec["containers"][0]["securityContext"] = {"runAsNonRoot": True}
    for policy in ("no-privilege-escalation", "drop-all-capabilities", "seccomp-runtime-default", "read-only-root-filesystem"):
        assert check(policy, spec) == [], f"{policy} asks a Windows pod for a field the API rejects there"
    linux = copy.deepcopy(spec)
    linux["os"] = {"name": "linux"}
    assert check("seccomp-runtime-default", linux) and check("drop-all-capabilities", linux)


def test_requests_default_to_limits():
    spec = pod()
    del spec["containers"][0]["resources"]["requests"]
    assert check("resource-requests-limits", spec) == [], "the API server copies limits into missing requests"
    spec["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
    found = check("resource-requests-limits", spec)
    assert [m.split(": ", 1)[1] for m in found] == [
        "spec.containers[0].resources.limits.cpu is not set; set it",
        "spec.containers[0].resources.limits.memory is not set; set it",
    ]


def test_host_network_makes_container_ports_host_ports():
    spec = pod(hostNetwork=True)
    spec["containers"][0]["ports"] = [{"containerPort": 8080}]
    found = check("no-host-ports", spec)
    assert found and "binds host port 8080" in found[0] and "hostPort defaults to containerPort" in found[0]
    assert check("no-host-ports", pod(containers=[{**GOOD_CONTAINER, "ports": [{"containerPort": 8080}]}])) == []


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("registry.example.com/app@sha512:" + "ab" * 64, True),
        ("registry.example.com/app:latest@sha256:" + "0" * 64, True),
        ("registry.example.com:5000/app", False),
        ("app:latest", False),
        ("app:1.2.3", True),
    ],
)
def test_digests_of_any_algorithm_pin_an_image(image, pinned):
    spec = pod()
    spec["containers"][0]["image"] = image
    assert (check("pinned-image-tags", spec) == []) is pinned


def test_capability_names_are_matched_exactly_as_admission_does():
    found = check("drop-all-capabilities", container(pod(), capabilities={"drop": ["all"]}))
    assert found and "exact name ALL" in found[0]
    assert check("drop-all-capabilities", container(pod(), capabilities={"drop": ["ALL"], "add": ["CAP_NET_BIND_SERVICE"]}))
    assert check("drop-all-capabilities", container(pod(), capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})) == []


def test_ephemeral_containers_are_checked_like_the_others():
    debug = copy.deepcopy(GOOD_CONTAINER) | {"name": "debug"}
    debug["securityContext"]["privileged"] = True
    assert "ephemeralContainers[0]" in check("no-privileged-containers", pod(ephemeralContainers=[debug]))[0]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda s: container(s, procMount="Unmasked"), "procMount is Unmasked"),
        (lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]), "'kernel.msgmax' is not a safe"),
        (lambda s: container(s, appArmorProfile={"type": "Unconfined"}), "appArmorProfile.type is Unconfined"),
        (lambda s: s["securityContext"].update(seLinuxOptions={"type": "spc_t"}), "'spc_t' is not allowed"),
        (lambda s: container(s, seLinuxOptions={"user": "system_u"}), "seLinuxOptions.user must not be set"),
        (lambda s: s["securityContext"].update(windowsOptions={"hostProcess": True}), "hostProcess is true"),
    ],
)
def test_the_remaining_baseline_controls(change, fragment):
    spec = pod()
    change(spec)
    found = check("pod-security-baseline", spec)
    assert any(fragment in message for message in found), found


def test_baseline_allows_what_admission_allows():
    spec = container(pod(), procMount="Default", appArmorProfile={"type": "RuntimeDefault"}, seLinuxOptions={"type": "container_t", "level": "s0:c1"})
    spec["securityContext"]["sysctls"] = [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]
    assert check("pod-security-baseline", spec, {"container.apparmor.security.beta.kubernetes.io/app": "localhost/custom"}) == []
    found = check("pod-security-baseline", pod(), {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"})
    assert found and "use runtime/default or localhost/<profile>" in found[0]


def test_restricted_volume_types():
    volumes = [
        {"name": "data", "persistentVolumeClaim": {"claimName": "d"}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "share", "nfs": {"server": "s", "path": "/"}},
    ]
    found = check("restricted-volume-types", pod(volumes=volumes))
    assert len(found) == 1 and "volumes[2] ('share') uses nfs" in found[0]
