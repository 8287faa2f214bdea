"""The policy rules: small functions over a resource's properties (camelCase, as the engine and
the Kubernetes API write them). Importing this module starts nothing; the CrossGuard pack
(`rdagent_policies/pack.py`) and `rdagent-infra policy check` both call these functions.

A rule returns a list of violation messages; each names the container and field path and says
how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rdagent_policies import identity, llm_keys
from rdagent_policies import pod_security as pss
from rdagent_policies.workloads import WORKLOAD_TYPES, PodSpec, pod_spec_of

EXEMPT_ANNOTATION = "policy.rdagent.io/exempt"
EXEMPT_REASON_ANNOTATION = "policy.rdagent.io/exempt-reason"
GPU_MARKERS = ("NVIDIA", "GPU")
GPU_INSTANCE_FAMILIES = ("p2", "p3", "p4", "p5", "g3", "g4", "g5", "g6", "gr6", "trn", "inf", "dl1")
# An OCI digest: algorithm ":" encoded (the distribution reference grammar), sha256 or any other.
DIGEST = re.compile(r"@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


def image_tag_problem(image: str) -> str | None:
    """Why `image` is not pinned, or None. A digest pins it (the kubelet pulls by digest even when a
    tag is given too); otherwise a tag other than latest (no tag means latest)."""
    if DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the tag latest"
    return None


def pinned_image_tag(pod: PodSpec, requireDigest: bool = False) -> list[str]:  # noqa: N803 (the config key)
    found = []
    for container in pod.containers():
        image = container.spec.get("image")
        if not isinstance(image, str):
            continue  # unknown during preview
        problem = image_tag_problem(image)
        if problem is None and requireDigest and not DIGEST.search(image):
            problem = "has a tag but no digest (requireDigest is on: tags can be moved, digests cannot)"
        if problem:
            found.append(f"{container.where()}: {container.path}.image {image!r} {problem}; pin a version tag or a digest")
    return found


# --- AWS rules -------------------------------------------------------------------------


def ecr_scan_and_immutable(props: dict[str, Any]) -> list[str]:
    found = []
    if (props.get("imageScanningConfiguration") or {}).get("scanOnPush") is not True:
        found.append("imageScanningConfiguration.scanOnPush must be true; images are scanned for CVEs as they are pushed")
    if props.get("imageTagMutability") not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        found.append(f"imageTagMutability is {props.get('imageTagMutability', 'MUTABLE (the default)')}; set IMMUTABLE so a tag always means one image")
    return found


def is_gpu_node_group(props: dict[str, Any]) -> bool:
    ami = str(props.get("amiType") or "").upper()
    if any(marker in ami for marker in GPU_MARKERS):
        return True
    return any(str(t).split(".")[0].lower().startswith(GPU_INSTANCE_FAMILIES) for t in props.get("instanceTypes") or [])


def gpu_node_group_tainted(props: dict[str, Any]) -> list[str]:
    if not is_gpu_node_group(props):
        return []
    for taint in props.get("taints") or []:
        if taint.get("key") == "nvidia.com/gpu" and taint.get("effect") in ("NO_SCHEDULE", "NoSchedule"):
            return []
    return [
        "a GPU node group has no nvidia.com/gpu NoSchedule taint; add taints: [{key: nvidia.com/gpu, value: 'true', effect: NO_SCHEDULE}] so only GPU pods land on it"
    ]


# --- stack rule ------------------------------------------------------------------------

TRACK_LABEL = "rdagent.io/track"
PAIRS = (("stable", "canary"), ("blue", "green"))


def rollout_relevant(resource_type: str, props: dict[str, Any]) -> bool:
    """Whether `rollout_consistency` looks at this resource (the others may be left out):
    Deployments on a track, and HTTPRoutes."""
    if resource_type == "kubernetes:apps/v1:Deployment":
        return bool((((props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}).get(TRACK_LABEL))
    return resource_type == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def rollout_consistency(resources: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """Deployments of one app on two tracks agree on selectors (beyond the track) and ports;
    the backend weights of each HTTPRoute rule sum to 100."""
    found = []
    deployments: dict[tuple[str, str], dict[str, dict]] = {}
    for resource_type, _name, props in resources:
        if resource_type == "kubernetes:apps/v1:Deployment":
            labels = ((props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            track = labels.get(TRACK_LABEL)
            if track:
                app = labels.get("app.kubernetes.io/name", "?")
                namespace = (props.get("metadata") or {}).get("namespace", "default")
                deployments.setdefault((namespace, app), {})[track] = props
        elif resource_type == "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute":
            route = (props.get("metadata") or {}).get("name", "?")
            for index, rule in enumerate((props.get("spec") or {}).get("rules") or []):
                refs = rule.get("backendRefs") or []
                weights = [ref.get("weight", 1) for ref in refs]
                if len(refs) > 1 and all(isinstance(w, (int, float)) for w in weights) and sum(weights) != 100:
                    found.append(f"HTTPRoute {route}: spec.rules[{index}].backendRefs weights sum to {sum(weights)}, not 100")
    for (namespace, app), tracks in deployments.items():
        for old, new in PAIRS:
            if old in tracks and new in tracks:
                found += _compare_tracks(f"{namespace}/{app}", old, tracks[old], new, tracks[new])
    return found


def _compare_tracks(app: str, old: str, old_props: dict, new: str, new_props: dict) -> list[str]:
    def selector(props):
        labels = dict(((props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        labels.pop(TRACK_LABEL, None)
        return labels

    def ports(props):
        spec = pod_spec_of("kubernetes:apps/v1:Deployment", props)
        return sorted((c.name, p.get("containerPort")) for c in (spec.containers() if spec else []) for p in c.spec.get("ports") or [])

    found = []
    if selector(old_props) != selector(new_props):
        found.append(
            f"{app}: the {old} and {new} Deployments select different pods ({selector(old_props)} vs {selector(new_props)}); they must differ only in {TRACK_LABEL}"
        )
    if ports(old_props) != ports(new_props):
        found.append(f"{app}: the {old} and {new} Deployments expose different container ports ({ports(old_props)} vs {ports(new_props)})")
    return found


# --- the catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    default_level: str  # advisory | mandatory
    check_pod: Callable[..., list[str]] | None = None  # (pod, **settings)
    check_props: Callable[[dict[str, Any]], list[str]] | None = None
    resource_types: tuple[str, ...] = WORKLOAD_TYPES
    # JSON schema of each configuration property (pulumi-policy's config_schema), passed to the
    # check as keyword arguments; the stack's policy config sets them beside enforcementLevel.
    config_schema: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings(self, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """The configured properties of this policy, schema defaults for the rest."""
        return {key: (config or {}).get(key, schema.get("default")) for key, schema in self.config_schema.items()}


WORKLOAD_POLICIES = (
    Policy("run-as-non-root", "Pods or all their containers set runAsNonRoot: true; nothing sets runAsUser 0.", "mandatory", pss.run_as_non_root),
    Policy(
        "resource-requests-limits",
        "Containers set CPU and memory limits (requests default to them), requests within limits.",
        "mandatory",
        pss.resource_requests_limits,
    ),
    Policy("no-privilege-escalation", "Containers set allowPrivilegeEscalation: false.", "mandatory", pss.no_privilege_escalation),
    Policy("no-privileged-containers", "Containers are not privileged.", "mandatory", pss.no_privileged),
    Policy("drop-all-capabilities", "Containers drop ALL capabilities and add back nothing but NET_BIND_SERVICE.", "mandatory", pss.drop_all_capabilities),
    Policy(
        "seccomp-runtime-default",
        "Pods or containers use the RuntimeDefault (or a Localhost) seccomp profile, and none another.",
        "mandatory",
        pss.seccomp_runtime_default,
    ),
    Policy("no-host-namespaces", "Pods do not use hostNetwork, hostPID or hostIPC.", "mandatory", pss.no_host_namespaces),
    Policy("no-host-path-volumes", "Pods do not mount hostPath volumes.", "mandatory", pss.no_host_path),
    Policy("no-host-ports", "Containers do not bind host ports (hostPort, or any port under hostNetwork).", "mandatory", pss.no_host_port),
    Policy(
        "pinned-image-tags",
        "Images are pinned by a version tag or digest, never latest or untagged.",
        "mandatory",
        pinned_image_tag,
        config_schema={"requireDigest": {"type": "boolean", "default": False, "description": "Require a digest; a version tag alone is not enough."}},
    ),
    Policy("read-only-root-filesystem", "Containers mount their root filesystem read-only.", "advisory", pss.read_only_root_filesystem),
    Policy(
        "pod-security-baseline",
        "No Windows HostProcess, unmasked /proc, unsafe sysctls, unconfined AppArmor or custom SELinux user, role or type.",
        "mandatory",
        pss.pod_security_baseline,
    ),
    Policy("restricted-volume-types", "Pods use only the volume types Pod Security restricted allows.", "mandatory", pss.restricted_volume_types),
    Policy(
        "llm-provider-keys-in-gateway-only",
        "Only the LLM gateway's pods get LLM provider keys; other workloads send to the gateway with its key.",
        "mandatory",
        llm_keys.provider_keys_in_gateway_only,
        config_schema=llm_keys.CONFIG_SCHEMA,
    ),
    Policy(
        "service-account-token-reason",
        f"Pods mount no ServiceAccount token unless their template says why ({identity.TOKEN_REASON_ANNOTATION}).",
        "mandatory",
        identity.token_mount_has_reason,
    ),
)
AWS_POLICIES = (
    Policy(
        "ecr-scan-and-immutable-tags",
        "ECR repositories scan on push and have immutable tags.",
        "mandatory",
        check_props=ecr_scan_and_immutable,
        resource_types=("aws:ecr/repository:Repository",),
    ),
    Policy(
        "gpu-node-groups-tainted",
        "EKS node groups with GPU instances or AMIs carry the nvidia.com/gpu NoSchedule taint.",
        "mandatory",
        check_props=gpu_node_group_tainted,
        resource_types=("aws:eks/nodeGroup:NodeGroup",),
    ),
    Policy(
        "no-wildcard-iam",
        'IAM policies allow no wildcard action, and "Resource": "*" only in the listed exceptions (rdagent_policies/iam_exceptions.py).',
        "mandatory",
        check_props=identity.no_wildcard_iam,
        resource_types=identity.IAM_POLICY_TYPES,
    ),
)
STACK_POLICY_NAME = "rollout-consistency"
STACK_POLICY_DESCRIPTION = "Canary/stable and blue/green Deployments agree on selectors and ports; route weights sum to 100."
RESOURCE_POLICIES = WORKLOAD_POLICIES + AWS_POLICIES
ALL_POLICY_NAMES = tuple(p.name for p in RESOURCE_POLICIES) + (STACK_POLICY_NAME,)


def exemptions(props: dict[str, Any]) -> set[str]:
    """Policies this resource is exempt from: named in an annotation, with a written reason."""
    annotations = (props.get("metadata") or {}).get("annotations") or {}
    if not str(annotations.get(EXEMPT_REASON_ANNOTATION, "")).strip():
        return set()
    return {name.strip() for name in str(annotations.get(EXEMPT_ANNOTATION, "")).split(",") if name.strip()}


def evaluate_many(checks: list[tuple[Policy, dict[str, Any]]], resource_type: str, props: dict[str, Any]) -> Iterator[tuple[Policy, str]]:
    """(policy, message) of what `evaluate` finds for each (policy, its settings from Policy.settings),
    in that order, with the exemptions and the pod spec worked out once for all of them."""
    exempt = exemptions(props)
    pod = pod_spec_of(resource_type, props)
    for policy, settings in checks:
        if resource_type not in policy.resource_types or policy.name in exempt:
            continue
        if policy.check_pod is not None:
            messages = policy.check_pod(pod, **settings) if pod is not None else []
        else:
            messages = policy.check_props(props) if policy.check_props else []
        for message in messages:
            yield policy, message


def evaluate(policy: Policy, resource_type: str, props: dict[str, Any], config: Mapping[str, Any] | None = None) -> list[str]:
    """Messages of `policy` for one resource (empty when it passes, does not apply, or is exempt),
    with the policy's configuration properties from `config`."""
    if resource_type not in policy.resource_types or policy.name in exemptions(props):
        return []
    if policy.check_pod is not None:
        pod = pod_spec_of(resource_type, props)
        return policy.check_pod(pod, **policy.settings(config)) if pod is not None else []
    return policy.check_props(props) if policy.check_props else []
