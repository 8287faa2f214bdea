"""Every custom resource of every stack meets its upstream CRD (tests/crds.py, from the modules that
ship them) on the real API server, under strict field validation: an unknown or misspelt field, a
wrong type, a value outside an enum or a broken CEL rule is refused, as it would be on a cluster
with those CRDs installed. Created as dry runs (`dryRun=All`): validated and defaulted, not stored.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from tests import crds

pytestmark = pytest.mark.cluster

# What each stack renders, written out by hand (kinds of custom resources).
QUEUE = {"ClusterQueue", "LocalQueue", "ResourceFlavor", "WorkloadPriorityClass"}  # rdagent:queue, on in e2e, staging and prod
EXPECTED = {
    "dev": set(),
    "test": set(),
    "e2e": {"HTTPRoute", "PrometheusRule", "ServiceMonitor", *QUEUE},
    "staging": {"Certificate", "ClusterIssuer", "Gateway", "GatewayClass", "HTTPRoute", "EC2NodeClass", "NodePool", "PrometheusRule", "ServiceMonitor", *QUEUE},
    "prod": {"Gateway", "GatewayClass", "HTTPRoute", "EC2NodeClass", "NodePool", "PrometheusRule", "ServiceMonitor", *QUEUE},
}
CUSTOM_GROUPS = {group for group, *_ in crds.ALL + crds.SECRETS_STORE}
CHECK_NAMESPACE = "crd-check"


@pytest.fixture(scope="module")
def api(control_plane):
    crds.register(control_plane.api, crds.UPSTREAM_KINDS)
    for group, _, _, plural in crds.UPSTREAM_KINDS:  # the upstream ones, not the open ones of an older run
        served = control_plane.api.get(f"{crds.CRD_PATH}/{plural}.{group}")
        assert "test.rdagent.io/minimal-crd" not in served["metadata"].get("labels", {}), served["metadata"]
    return control_plane.api


def custom_resources(folder) -> list[dict]:
    objects = [d for path in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    return [o for o in objects if o["apiVersion"].split("/")[0] in CUSTOM_GROUPS]


def collection(api, obj: dict) -> str:
    """The object's collection path, from its upstream CRD (plural, scope); a namespaced object is moved
    to CHECK_NAMESPACE, made to exist."""
    group, version = obj["apiVersion"].split("/")
    (definition,) = [crds.crd(*d) for d in crds.UPSTREAM_KINDS if d[0] == group and d[2] == obj["kind"]]
    plural = definition["spec"]["names"]["plural"]
    if definition["spec"]["scope"] == "Cluster":
        return f"/apis/{group}/{version}/{plural}"
    # A namespace of this test's own: the stacks' namespaces belong to the tests that deploy them on
    # this control plane (the e2e stack creates rdagent-e2e itself).
    namespace = obj["metadata"]["namespace"] = CHECK_NAMESPACE
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    return f"/apis/{group}/{version}/namespaces/{namespace}/{plural}"


def dry_run(api, obj: dict) -> tuple[int, str]:
    """The API server's answer to creating `obj` with strict field validation, without storing it."""
    response = api.http.post(collection(api, obj), json=obj, params={"dryRun": "All", "fieldValidation": "Strict"})
    return response.status_code, response.json().get("message", "")


@pytest.mark.parametrize("stack", sorted(EXPECTED))
def test_every_custom_resource_of_the_stack_is_accepted_by_its_upstream_crd(api, synthesized, stack):
    objects = custom_resources(synthesized(stack))
    assert {o["kind"] for o in objects} == EXPECTED[stack]
    refused = {f"{o['kind']}/{o['metadata']['name']}": dry_run(api, o) for o in objects}
    assert {name: answer for name, answer in refused.items() if answer[0] != 201} == {}


def route(synthesized) -> dict:
    (found,) = [o for o in custom_resources(synthesized("e2e")) if o["kind"] == "HTTPRoute"]
    return found


def test_a_misspelt_field_in_an_httproute_is_refused(api, synthesized):
    misspelt = copy.deepcopy(route(synthesized))
    rule = misspelt["spec"]["rules"][0]
    rule["backendRef"] = rule.pop("backendRefs")
    status, message = dry_run(api, misspelt)
    assert status == 400, (status, message)  # the strict decoder's refusal, before the schema
    assert 'unknown field "spec.rules[0].backendRef"' in message, message


def test_a_weight_of_the_wrong_type_or_range_is_refused(api, synthesized):
    """The schema's own checks, not only unknown fields: a weight is an integer from 0 to 1,000,000."""
    for weight, words in (("five", 'spec.rules[0].backendRefs[0].weight: Invalid value: "string"'), (2_000_000, "should be less than or equal to 1000000")):
        wrong = copy.deepcopy(route(synthesized))
        wrong["spec"]["rules"][0]["backendRefs"][0]["weight"] = weight
        status, message = dry_run(api, wrong)
        assert status == 422 and words in message, (weight, status, message)


def test_a_cluster_queue_written_with_kueues_older_field_name_is_refused(api, synthesized):
    """v1beta1 named the cohort `cohort`; the v1beta2 ClusterQueue we render calls it `cohortName`."""
    (queue,) = [o for o in custom_resources(synthesized("staging")) if o["kind"] == "ClusterQueue"]
    old = copy.deepcopy(queue)
    old["spec"]["cohort"] = old["spec"].pop("cohortName")
    status, message = dry_run(api, old)
    assert status == 400 and 'unknown field "spec.cohort"' in message, (status, message)
