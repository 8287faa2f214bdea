"""The CustomResourceDefinitions of the `cluster` tests.

Every custom resource kind the stacks render gets its upstream CRD, taken pinned from the Go module
that ships it by scripts/crds-toolchain.sh (`make cluster-tools`) into .tools/crds/: the Gateway
API (the experimental channel, which Envoy Gateway's chart installs; the standard channel's HTTPRoute
for a cluster that has only that), the Prometheus Operator, Karpenter, cert-manager and Kueue. The API server then
checks our objects against the real schemas (types, enums, CEL rules, and unknown fields under
`fieldValidation=Strict`: tests/test_crds.py). No controller acts on them.

Two kinds are written here instead, and say so: ECK's (no stack renders them; an open schema with
`x-kubernetes-preserve-unknown-fields`, label test.rdagent.io/minimal-crd), and the Secrets Store
driver's SecretProviderClass (its module is not served: SECRET_PROVIDER_CLASS_SCHEMA copies the
field types of the driver's v1.6.0 CRD).
"""

from __future__ import annotations

import yaml

from tests.cluster import Api, wait_for
from tests.conftest import ROOT

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
UPSTREAM = ROOT / ".tools" / "crds"
# (group, version, kind, plural)
GATEWAY_API = [
    ("gateway.networking.k8s.io", "v1", "GatewayClass", "gatewayclasses"),
    ("gateway.networking.k8s.io", "v1", "Gateway", "gateways"),
    ("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    ("gateway.networking.k8s.io", "v1beta1", "ReferenceGrant", "referencegrants"),
]
PROMETHEUS_OPERATOR = [
    ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
    ("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
]
KARPENTER = [
    ("karpenter.sh", "v1", "NodePool", "nodepools"),
    ("karpenter.sh", "v1", "NodeClaim", "nodeclaims"),
    ("karpenter.k8s.aws", "v1", "EC2NodeClass", "ec2nodeclasses"),
]
CERT_MANAGER = [
    ("cert-manager.io", "v1", "Certificate", "certificates"),
    ("cert-manager.io", "v1", "Issuer", "issuers"),
    ("cert-manager.io", "v1", "ClusterIssuer", "clusterissuers"),
]
KUEUE = [
    ("kueue.x-k8s.io", "v1beta2", "ClusterQueue", "clusterqueues"),
    ("kueue.x-k8s.io", "v1beta2", "LocalQueue", "localqueues"),
    ("kueue.x-k8s.io", "v1beta2", "ResourceFlavor", "resourceflavors"),
    ("kueue.x-k8s.io", "v1beta2", "WorkloadPriorityClass", "workloadpriorityclasses"),
    ("kueue.x-k8s.io", "v1beta2", "Workload", "workloads"),
]
ECK = [
    ("elasticsearch.k8s.elastic.co", "v1", "Elasticsearch", "elasticsearches"),
    ("kibana.k8s.elastic.co", "v1", "Kibana", "kibanas"),
    ("logstash.k8s.elastic.co", "v1alpha1", "Logstash", "logstashes"),
]
UPSTREAM_KINDS = GATEWAY_API + PROMETHEUS_OPERATOR + KARPENTER + CERT_MANAGER + KUEUE
ALL = UPSTREAM_KINDS + ECK
SECRETS_STORE = [("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClass", "secretproviderclasses")]

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# Unlike the others, a structural schema with the field types of the driver's CRD (v1.6.0), so that
# the API server checks our object's shape (with fieldValidation=Strict it refuses unknown fields).
SECRET_PROVIDER_CLASS_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "provider": {"type": "string"},
                "parameters": _STRING_MAP,
                "secretObjects": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "secretName": {"type": "string"},
                            "type": {"type": "string"},
                            "labels": _STRING_MAP,
                            "annotations": _STRING_MAP,
                            "data": {
                                "type": "array",
                                "items": {"type": "object", "properties": {"objectName": {"type": "string"}, "key": {"type": "string"}}},
                            },
                        },
                    },
                },
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}
SCHEMAS = {"secretproviderclasses.secrets-store.csi.x-k8s.io": SECRET_PROVIDER_CLASS_SCHEMA}


def upstream(group: str, plural: str, folder=UPSTREAM) -> dict:
    """The upstream CRD of `plural.group`, as scripts/crds-toolchain.sh copied it."""
    path = folder / f"{group}_{plural}.yaml"
    if not path.exists():
        raise AssertionError(f"{path} is missing: run make cluster-tools (scripts/crds-toolchain.sh)")
    (definition,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return definition


def crd(group: str, version: str, kind: str, plural: str) -> dict:
    if (group, version, kind, plural) in UPSTREAM_KINDS:
        return upstream(group, plural)
    metadata = {"name": f"{plural}.{group}", "labels": {"test.rdagent.io/minimal-crd": "true"}}
    if group.endswith((".k8s.io", ".kubernetes.io")):
        # The API server refuses CRDs of the protected *.k8s.io groups without this annotation; the
        # upstream Gateway API CRDs carry it with the pull request that approved their API.
        metadata["annotations"] = {"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/2466"}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": SCHEMAS.get(f"{plural}.{group}", {"type": "object", "x-kubernetes-preserve-unknown-fields": True})},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def established(api: Api, name: str) -> bool:
    conditions = api.get(f"{CRD_PATH}/{name}").get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def register(api: Api, definitions=ALL) -> None:
    """Creates the CRDs (if absent) and waits until the API server serves them."""
    for definition in definitions:
        api.apply(CRD_PATH, crd(*definition))
    for group, version, _, plural in definitions:
        wait_for(lambda g=group, p=plural: established(api, f"{p}.{g}"), 60, f"the CRD {plural}.{group} to be established")
        wait_for(lambda g=group, v=version: api.exists(f"/apis/{g}/{v}"), 60, f"discovery to serve {group}/{version}")


def set_route_channel(api: Api, channel: str) -> None:
    """Replaces the HTTPRoute CRD with the Gateway API channel's (`experimental`, or `standard`:
    without a rule's sessionPersistence) and waits until the API server publishes that schema."""
    from rdagent_infra.logic.route_schema import ROUTE_SCHEMA, rule_fields

    definition = upstream("gateway.networking.k8s.io", "httproutes", UPSTREAM if channel == "experimental" else UPSTREAM / channel)
    path = f"{CRD_PATH}/{definition['metadata']['name']}"
    definition["metadata"]["resourceVersion"] = api.get(path)["metadata"]["resourceVersion"]
    api.request("PUT", path, definition)

    def published() -> bool:
        schemas = api.get("/openapi/v3/apis/gateway.networking.k8s.io/v1")["components"]["schemas"]
        return ("sessionPersistence" in rule_fields(schemas.get(ROUTE_SCHEMA, {}))) == (channel == "experimental")

    wait_for(published, 60, f"the API server to publish the {channel} channel's HTTPRoute")


def unregister(api: Api, definitions) -> None:
    """Deletes the CRDs and waits until the API server no longer serves them."""
    for group, _, _, plural in definitions:
        api.delete(f"{CRD_PATH}/{plural}.{group}")
    for group, version, _, plural in definitions:
        wait_for(lambda g=group, p=plural: not api.exists(f"{CRD_PATH}/{p}.{g}"), 60, f"the CRD {plural}.{group} to be gone")
        wait_for(lambda g=group, v=version: not api.exists(f"/apis/{g}/{v}"), 60, f"discovery to drop {group}/{version}")
