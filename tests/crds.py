"""Small CustomResourceDefinitions written here for the `cluster` tests, NOT the upstream ones.
(The Secrets Store driver's SecretProviderClass has a structural schema: see SCHEMAS.)

The stack creates HTTPRoutes (Gateway API), PrometheusRules and ServiceMonitors (Prometheus
Operator) and, in ECK mode, Elastic's custom resources. The control plane only needs to know these
kinds to store them: each CRD here has the real group, version, kind and plural, an open schema
(`x-kubernetes-preserve-unknown-fields`) and a status subresource. No controller acts on them, so
nothing checks their contents beyond what the API server does for any object.
"""

from __future__ import annotations

from tests.cluster import Api, wait_for

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
# (group, version, kind, plural)
GATEWAY_API = [("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")]
PROMETHEUS_OPERATOR = [
    ("monitoring.coreos.com", "v1", "PrometheusRule", "prometheusrules"),
    ("monitoring.coreos.com", "v1", "ServiceMonitor", "servicemonitors"),
]
ECK = [
    ("elasticsearch.k8s.elastic.co", "v1", "Elasticsearch", "elasticsearches"),
    ("kibana.k8s.elastic.co", "v1", "Kibana", "kibanas"),
    ("logstash.k8s.elastic.co", "v1alpha1", "Logstash", "logstashes"),
]
ALL = GATEWAY_API + PROMETHEUS_OPERATOR + ECK
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


def crd(group: str, version: str, kind: str, plural: str) -> dict:
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


def unregister(api: Api, definitions) -> None:
    """Deletes the CRDs and waits until the API server no longer serves them."""
    for group, _, _, plural in definitions:
        api.delete(f"{CRD_PATH}/{plural}.{group}")
    for group, version, _, plural in definitions:
        wait_for(lambda g=group, p=plural: not api.exists(f"{CRD_PATH}/{p}.{g}"), 60, f"the CRD {plural}.{group} to be gone")
        wait_for(lambda g=group, v=version: not api.exists(f"/apis/{g}/{v}"), 60, f"discovery to drop {group}/{version}")
