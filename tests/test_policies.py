"""The policy rules: passing and violating fixtures for every workload type and rule."""

from __future__ import annotations

import copy

import pytest
import yaml
from rdagent_policies import rules
from rdagent_policies.examples import KINDS, good_container, good_pod_spec, root_pod, wrap

from tests.conftest import STACKS, run_cli

POLICIES = {p.name: p for p in rules.RESOURCE_POLICIES}


def violations(policy: str, kind: str, pod: dict) -> list[str]:
    token, props = wrap(kind, pod)
    return rules.evaluate(POLICIES[policy], token, props)


# Each case: policy, a change that breaks it, a fragment the message must contain.
def _set_container(field, value):
    def mutate(pod):
        pod["containers"][0]["securityContext"][field] = value

    return mutate


def _drop_container(field):
    def mutate(pod):
        pod["containers"][0]["securityContext"].pop(field)

    return mutate


def _pod(field, value):
    def mutate(pod):
        pod[field] = value

    return mutate


def _resources(section, resource, value):
    def mutate(pod):
        if value is None:
            pod["containers"][0]["resources"][section].pop(resource)
        else:
            pod["containers"][0]["resources"][section][resource] = value

    return mutate


def _image(image):
    def mutate(pod):
        pod["containers"][0]["image"] = image

    return mutate


def _no_pod_seccomp(pod):
    pod["securityContext"].pop("seccompProfile")


def _cap_add(pod):
    pod["containers"][0]["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN"]


def _host_path(pod):
    pod["volumes"] = [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]


def _host_port(pod):
    pod["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 80}]


def _env(entry):
    def mutate(pod):
        pod["containers"][0]["env"] = [entry]

    return mutate


def _env_from_secret(pod):
    pod["containers"][0]["envFrom"] = [{"secretRef": {"name": "rdagent-llm-providers"}}]


def _secret_volume(pod):
    pod["volumes"] = [{"name": "keys", "secret": {"secretName": "rdagent-secrets-manager"}}]


def _secret_ref(variable, secret, key):
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


CASES = [
    ("llm-provider-keys-in-gateway-only", _env({"name": "OPENAI_API_KEY", "value": "sk-x"}), "OPENAI_API_KEY gets an LLM provider key from a literal value"),
    (
        "llm-provider-keys-in-gateway-only",
        _env(_secret_ref("ANTHROPIC_API_KEY", "team-keys", "k")),
        "ANTHROPIC_API_KEY gets an LLM provider key from the Secret 'team-keys'",
    ),
    ("llm-provider-keys-in-gateway-only", _env(_secret_ref("MY_KEY", "rdagent-llm-providers", "openai-api-key")), "reads the Secret 'rdagent-llm-providers'"),
    ("llm-provider-keys-in-gateway-only", _env_from_secret, "envFrom[0] takes every key of the Secret 'rdagent-llm-providers'"),
    ("llm-provider-keys-in-gateway-only", _secret_volume, "volumes[0] mounts the Secret 'rdagent-secrets-manager'"),
    ("run-as-non-root", root_pod, "containers[0]"),
    ("resource-requests-limits", _resources("limits", "memory", None), "resources.limits.memory is not set"),
    ("resource-requests-limits", _resources("limits", "cpu", None), "resources.limits.cpu is not set"),
    ("resource-requests-limits", _resources("requests", "cpu", "2"), "resources.requests.cpu (2) is above limits.cpu (1)"),
    ("no-privilege-escalation", _drop_container("allowPrivilegeEscalation"), "allowPrivilegeEscalation must be false"),
    ("no-privilege-escalation", _set_container("allowPrivilegeEscalation", True), "allowPrivilegeEscalation must be false"),
    ("no-privileged-containers", _set_container("privileged", True), "securityContext.privileged is true"),
    ("drop-all-capabilities", _set_container("capabilities", {"drop": ["NET_RAW"]}), "capabilities.drop must contain ALL"),
    ("drop-all-capabilities", _cap_add, "capabilities.add has SYS_ADMIN"),
    ("seccomp-runtime-default", _no_pod_seccomp, "securityContext.seccompProfile.type is not set"),
    ("seccomp-runtime-default", _set_container("seccompProfile", {"type": "Unconfined"}), "seccompProfile.type is Unconfined"),
    ("no-host-namespaces", _pod("hostNetwork", True), "hostNetwork is true"),
    ("no-host-namespaces", _pod("hostPID", True), "hostPID is true"),
    ("no-host-namespaces", _pod("hostIPC", True), "hostIPC is true"),
    ("no-host-path-volumes", _host_path, "volumes[0] ('docker') is a hostPath volume"),
    ("no-host-ports", _host_port, "ports[0].hostPort is 80"),
    ("pinned-image-tags", _image("registry.example.com/app:latest"), "uses the tag latest"),
    ("pinned-image-tags", _image("registry.example.com:5000/app"), "has no tag"),
    ("read-only-root-filesystem", _set_container("readOnlyRootFilesystem", False), "readOnlyRootFilesystem is not true"),
]


@pytest.mark.parametrize("kind", KINDS)
def test_compliant_workloads_pass_every_policy(kind):
    for name in POLICIES:
        assert violations(name, kind, good_pod_spec()) == [], f"{name} flagged a compliant {kind}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("policy", "mutate", "fragment"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_violation_is_caught_in_every_workload_type(kind, policy, mutate, fragment):
    pod = good_pod_spec()
    mutate(pod)
    found = violations(policy, kind, pod)
    assert found, f"{policy} missed a violation in a {kind}"
    assert any(fragment in message for message in found), f"no message mentions {fragment!r}: {found}"
    other = [name for name in POLICIES if name != policy and violations(name, kind, pod)]
    assert other == [], f"unrelated policies fired: {other}"


def test_the_gateway_holds_provider_keys_and_others_the_gateway_key():
    """What the rule lets through: the gateway key as OPENAI_API_KEY anywhere, provider keys in the
    gateway's pods (told apart by their component label) only."""
    pod = good_pod_spec()
    pod["containers"][0]["env"] = [_secret_ref("OPENAI_API_KEY", "rdagent-llm-gateway-key", "gateway-key")]
    assert violations("llm-provider-keys-in-gateway-only", "Deployment", pod) == []
    pod["containers"][0]["env"] = [_secret_ref("OPENAI_API_KEY", "rdagent-llm-providers", "openai-api-key")]
    token, props = wrap("Deployment", pod)
    assert rules.evaluate(POLICIES["llm-provider-keys-in-gateway-only"], token, props)
    props["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = "llm-gateway"
    assert rules.evaluate(POLICIES["llm-provider-keys-in-gateway-only"], token, props) == []


def test_container_setting_overrides_pod_setting():
    pod = good_pod_spec()
    pod["securityContext"]["runAsNonRoot"] = True
    pod["containers"][0]["securityContext"].pop("runAsNonRoot")
    assert violations("run-as-non-root", "Deployment", pod) == []  # the pod's runAsNonRoot covers the container
    pod["containers"][0]["securityContext"]["runAsNonRoot"] = False
    assert violations("run-as-non-root", "Deployment", pod)
    pod = good_pod_spec()
    pod["containers"][0]["securityContext"]["seccompProfile"] = {"type": "Localhost", "localhostProfile": "p.json"}
    pod["securityContext"].pop("seccompProfile")
    assert violations("seccomp-runtime-default", "Pod", pod) == []


def test_init_and_ephemeral_containers_are_checked():
    pod = good_pod_spec()
    init = good_container("init")
    init["securityContext"]["privileged"] = True
    pod["initContainers"] = [init]
    found = violations("no-privileged-containers", "Job", pod)
    assert found and "initContainers[0]" in found[0] and "'init'" in found[0]
    pod = good_pod_spec()
    debug = copy.deepcopy(good_container("debug"))
    debug.pop("resources")
    debug["image"] = "busybox"
    pod["ephemeralContainers"] = [debug]
    assert violations("resource-requests-limits", "Pod", pod) == [], "ephemeral containers cannot have resources"
    assert "ephemeralContainers[0]" in violations("pinned-image-tags", "Pod", pod)[0]


def test_exemption_needs_a_reason():
    token, props = wrap("DaemonSet", good_pod_spec())
    props["spec"]["template"]["spec"]["volumes"] = [{"name": "h", "hostPath": {"path": "/x"}}]
    props["metadata"]["annotations"] = {rules.EXEMPT_ANNOTATION: "no-host-path-volumes"}
    assert rules.evaluate(POLICIES["no-host-path-volumes"], token, props), "an exemption without a reason was honoured"
    props["metadata"]["annotations"][rules.EXEMPT_REASON_ANNOTATION] = "node agent"
    assert rules.evaluate(POLICIES["no-host-path-volumes"], token, props) == []


def test_ecr_rule():
    ecr = POLICIES["ecr-scan-and-immutable-tags"]
    good = {"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE"}
    assert rules.evaluate(ecr, "aws:ecr/repository:Repository", good) == []
    found = rules.evaluate(ecr, "aws:ecr/repository:Repository", {})
    assert len(found) == 2 and "scanOnPush" in found[0] and "IMMUTABLE" in found[1]


@pytest.mark.parametrize(
    ("props", "violates"),
    [
        ({"amiType": "AL2023_x86_64_NVIDIA"}, True),
        ({"amiType": "AL2_x86_64", "instanceTypes": ["p4d.24xlarge"]}, True),
        ({"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m6i.large"]}, False),
        ({"amiType": "AL2023_x86_64_NVIDIA", "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]}, False),
        ({"amiType": "AL2023_x86_64_NVIDIA", "taints": [{"key": "nvidia.com/gpu", "effect": "PREFER_NO_SCHEDULE"}]}, True),
    ],
)
def test_gpu_node_group_rule(props, violates):
    found = rules.evaluate(POLICIES["gpu-node-groups-tainted"], "aws:eks/nodeGroup:NodeGroup", props)
    assert bool(found) == violates


def test_rollout_consistency():
    def deployment(track, port=19899, extra=None):
        labels = {"app.kubernetes.io/name": "ui", "rdagent.io/track": track, **(extra or {})}
        container = {"name": "ui", "ports": [{"containerPort": port}]}
        return (
            "kubernetes:apps/v1:Deployment",
            track,
            {"metadata": {"namespace": "n"}, "spec": {"selector": {"matchLabels": labels}, "template": {"spec": {"containers": [container]}}}},
        )

    def route(*weights):
        refs = [{"name": f"s{i}", "weight": w} for i, w in enumerate(weights)]
        return ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "r", {"metadata": {"name": "r"}, "spec": {"rules": [{"backendRefs": refs}]}})

    assert rules.rollout_consistency([deployment("stable"), deployment("canary"), route(95, 5)]) == []
    assert "sum to 90" in rules.rollout_consistency([route(80, 10)])[0]
    assert "different container ports" in rules.rollout_consistency([deployment("blue"), deployment("green", port=8080)])[0]
    assert "select different pods" in rules.rollout_consistency([deployment("stable"), deployment("canary", extra={"x": "y"})])[0]


@pytest.mark.parametrize("stack", STACKS)
def test_our_stacks_have_no_mandatory_violations(synthesized, stack):
    result = run_cli("policy", "check", str(synthesized(stack)))
    assert result.returncode == 0, result.stdout
    # Every finding, written out by hand: the Elastic images (Elasticsearch, its certificate Job,
    # Logstash, Kibana) write into their own root file system; the rule is advisory everywhere.
    found = sorted(" ".join(line.split(": ")[1:3]) for line in result.stdout.splitlines())
    assert found == [
        "Deployment/kibana read-only-root-filesystem (advisory)",
        "Deployment/logstash read-only-root-filesystem (advisory)",
        "Job/elasticsearch-certs read-only-root-filesystem (advisory)",
        "StatefulSet/elasticsearch read-only-root-filesystem (advisory)",
    ], result.stdout
    assert result.stderr.strip() == "policy check: 0 mandatory, 4 advisory finding(s)", result.stderr


def test_policy_check_cli_reports_and_exits_1(tmp_path):
    pod = good_pod_spec()
    root_pod(pod)
    _, bad = wrap("Deployment", pod)
    _, good = wrap("Job", good_pod_spec())
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump_all([good, bad]))
    result = run_cli("policy", "check", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'bad.yaml'}: Deployment/x: run-as-non-root: container 'app' (spec.template.spec.containers[0])" in result.stdout
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(good))
    assert run_cli("policy", "check", str(tmp_path)).returncode == 0
    missing = run_cli("policy", "check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
