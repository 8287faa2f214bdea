"""Which custom resources a stack creates before anything serves their kind (pure).

On EKS the same `up` creates the cluster and everything in it, so no CRD is there beforehand: a
custom resource (a cert-manager Certificate, a Karpenter NodePool, an HTTPRoute) can only be
created after the Helm release that installs its CRDs, and only if the stack installs one at all.
Without it the engine retries the object for a minute and fails, and everything that waits for it
is never created. `unserved` reads the dependency graph synth recorded and names every custom
resource that does not depend, directly or through what it depends on, on a release of a chart
that serves its API group. On a cluster the stack does not create (kubeconfig mode) the APIs are
the cluster's: the program and preflight check them there (rdagent_infra.cluster_check).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

# The API groups whose CRDs each chart installs (the chart's name, as the Release names it), and
# how the stack config asks for that chart.
CHART_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "gateway-helm": (("gateway.networking.k8s.io", "gateway.envoyproxy.io"), "Envoy Gateway (rdagent:addons.envoyGateway)"),
    "kube-prometheus-stack": (("monitoring.coreos.com",), "kube-prometheus-stack (rdagent:addons.kubePrometheusStack)"),
    "karpenter-crd": (("karpenter.sh", "karpenter.k8s.aws"), "Karpenter's CRD chart (rdagent:addons.karpenter)"),
    "secrets-store-csi-driver-provider-aws": (("secrets-store.csi.x-k8s.io",), "the Secrets Store CSI driver (rdagent:addons.secretsStoreCsiAws)"),
    "cert-manager": (("cert-manager.io", "acme.cert-manager.io"), "cert-manager (rdagent:addons.certManager)"),
    "kueue": (("kueue.x-k8s.io",), "Kueue (rdagent:addons.kueue)"),
}
# Groups the stacks may use whose operator the program never installs, and what to do instead.
NOT_INSTALLED: dict[str, str] = {
    group: "the program does not install the Elastic operator (ECK): on EKS use rdagent:logging.mode statefulSets"
    for group in ("elasticsearch.k8s.elastic.co", "kibana.k8s.elastic.co", "logstash.k8s.elastic.co")
}
# Kinds of these groups come with Kubernetes itself.
BUILT_IN_GROUPS = frozenset(
    {
        "core",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "networking.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
    }
)
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


class Registered(Protocol):
    type: str
    name: str
    urn: str
    parent_urn: str
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Unserved:
    kind: str
    group: str
    resource: str
    remedy: str  # what would serve it

    def message(self) -> str:
        return (
            f"{self.kind} {self.resource} ({self.group}) is created before anything serves its kind, and a cluster this stack "
            f"creates has no CRDs of its own: {self.remedy}"
        )


def custom_group(resource_type: str) -> tuple[str, str] | None:
    """(group, kind) of a Kubernetes object type `kubernetes:<group>/<version>:<Kind>` that is no built-in kind."""
    if not resource_type.startswith("kubernetes:") or resource_type == RELEASE_TYPE:
        return None
    api, _, kind = resource_type.removeprefix("kubernetes:").partition(":")
    group = api.split("/")[0] if "/" in api else "core"
    if group in BUILT_IN_GROUPS or group.startswith(("helm.sh", "kustomize", "yaml")):
        return None
    return group, kind


def chart_name(release: Registered) -> str:
    chart = str(release.inputs.get("chart", ""))
    return chart.rstrip("/").rsplit("/", 1)[-1]


def _closure(start: Iterable[str], by_urn: dict[str, Registered], children: dict[str, list[str]]) -> set[str]:
    """Every URN reachable from `start` through dependencies; a component stands for all its descendants."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        urn = todo.pop()
        if urn in seen:
            continue
        seen.add(urn)
        todo.extend(children.get(urn, []))
        if urn in by_urn:
            todo.extend(by_urn[urn].dependencies)
    return seen


def _ancestor_dependencies(resource: Registered, by_urn: dict[str, Registered]) -> list[str]:
    """What the resource's parents depend on: a child is registered only once its parent is, and
    the SDK registers a resource only once everything it depends on exists, so a child of a
    component waits for the component's dependencies too."""
    found: list[str] = []
    parent = by_urn.get(resource.parent_urn)
    while parent is not None:
        found.extend(parent.dependencies)
        parent = by_urn.get(parent.parent_urn)
    return found


def server_of(group: str) -> tuple[str, str] | None:
    """(chart, description) of the chart that installs `group`'s CRDs, if any chart we know does."""
    for chart, (groups, what) in CHART_GROUPS.items():
        if group in groups:
            return chart, what
    return None


def unserved(registrations: list[Registered]) -> list[Unserved]:
    by_urn = {r.urn: r for r in registrations if r.urn}
    children: dict[str, list[str]] = {}
    for r in registrations:
        if r.parent_urn:
            children.setdefault(r.parent_urn, []).append(r.urn)
    found = []
    for r in registrations:
        custom = custom_group(r.type)
        if custom is None:
            continue
        group, kind = custom
        server = server_of(group)
        reachable = _closure([*r.dependencies, *_ancestor_dependencies(r, by_urn)], by_urn, children)
        charts = {chart_name(by_urn[urn]) for urn in reachable if urn in by_urn and by_urn[urn].type == RELEASE_TYPE}
        if server is None or server[0] not in charts:
            if server is not None:
                remedy = f"it must wait for the release of {server[1]}, which installs the CRDs"
            else:
                remedy = NOT_INSTALLED.get(group, f"the program installs nothing that serves {group}")
            found.append(Unserved(kind, group, r.name, remedy))
    return found
