"""The rollout watch's judge (tests/serving.py) on event logs written by hand: what it must report,
what it must not, and that the order the streams delivered the events in changes nothing. The
watch itself meets the real API server in tests/test_cluster_stack.py (with a negative control)."""

from __future__ import annotations

import itertools
import random

from tests.serving import Event, dips, judge, weight_sequence

ROUTE = "rdagent-ui"


def route(version: int, **weights: int) -> Event:
    refs = [{"name": name.replace("_", "-"), "weight": weight} for name, weight in weights.items()]
    obj = {"metadata": {"name": ROUTE, "resourceVersion": str(version)}, "spec": {"rules": [{"backendRefs": refs}]}}
    return Event("routes", "MODIFIED", version, ROUTE, obj)


def endpoints(version: int, service: str, ready: int, not_ready: int = 0, terminating: int = 0, unset: int = 0) -> Event:
    """The one EndpointSlice of `service`: endpoints ready, not ready, terminating, and with `ready` unset."""
    listed = (
        [{"addresses": [f"{service}-r{i}"], "conditions": {"ready": True}} for i in range(ready)]
        + [{"addresses": [f"{service}-n{i}"], "conditions": {"ready": False}} for i in range(not_ready)]
        + [{"addresses": [f"{service}-t{i}"], "conditions": {"ready": True, "terminating": True}} for i in range(terminating)]
        + [{"addresses": [f"{service}-u{i}"], "conditions": {}} for i in range(unset)]
    )
    name = f"{service}-abcde"
    obj = {"metadata": {"name": name, "resourceVersion": str(version), "labels": {"kubernetes.io/service-name": service}}, "endpoints": listed}
    return Event("slices", "MODIFIED", version, name, obj)


# A canary whose one pod goes away and comes back between two lists of a relisting watch.
CANARY_DIP = [
    endpoints(5, "rdagent-ui-stable", 3),
    route(9, rdagent_ui_stable=100),
    endpoints(10, "rdagent-ui-canary", 1),
    route(11, rdagent_ui_stable=95, rdagent_ui_canary=5),
    endpoints(12, "rdagent-ui-canary", 0, terminating=1),
    endpoints(13, "rdagent-ui-canary", 1),
]


def test_a_weighted_backend_without_ready_endpoints_is_a_dip_however_many_the_others_have():
    found = dips(judge(CANARY_DIP, ROUTE), minimum=2)
    assert found == ["at resourceVersion 12: rdagent-ui-canary weighted {'rdagent-ui-stable': 95, 'rdagent-ui-canary': 5} with no ready endpoint"]


def test_a_route_sent_to_a_service_before_its_endpoints_exist_is_a_dip():
    events = [endpoints(5, "rdagent-ui-stable", 3), route(9, rdagent_ui_stable=95, rdagent_ui_canary=5), endpoints(10, "rdagent-ui-canary", 1)]
    assert [d.split(":")[0] for d in dips(judge(events, ROUTE), minimum=2)] == ["at resourceVersion 9"]


def test_fewer_ready_endpoints_than_the_minimum_behind_the_route_is_a_dip():
    events = [endpoints(5, "rdagent-ui-stable", 3), route(6, rdagent_ui_stable=100), endpoints(7, "rdagent-ui-stable", 1, not_ready=2)]
    assert dips(judge(events, ROUTE), minimum=2) == ["at resourceVersion 7: 1 ready endpoint(s) behind {'rdagent-ui-stable': 100}, fewer than 2"]


def test_a_backend_at_weight_zero_needs_no_endpoints_and_an_unset_ready_counts_as_ready():
    events = [endpoints(5, "rdagent-ui-stable", 0, unset=2), route(6, rdagent_ui_stable=100, rdagent_ui_canary=0)]
    (moment,) = [m for m in judge(events, ROUTE) if m.version == 6]
    assert moment.ready_by_backend == {"rdagent-ui-stable": 2} and dips([moment], minimum=2) == []


def test_the_verdict_does_not_depend_on_the_order_the_streams_delivered():
    expected = judge(CANARY_DIP, ROUTE)
    orders = list(itertools.permutations(CANARY_DIP))
    for order in random.Random(0).sample(orders, 50):
        assert judge(list(order), ROUTE) == expected
    assert weight_sequence(expected) == [{"rdagent-ui-stable": 100}, {"rdagent-ui-stable": 95, "rdagent-ui-canary": 5}]


def test_a_deletion_removes_the_backends_endpoints():
    gone = Event("slices", "DELETED", 14, "rdagent-ui-canary-abcde", {})
    found = dips(judge([*CANARY_DIP, gone], ROUTE), minimum=2)
    assert [d.split(":")[0] for d in found] == ["at resourceVersion 12", "at resourceVersion 14"]


def test_behind_a_sign_in_proxy_both_the_proxy_and_the_ui_service_need_ready_endpoints():
    """The route sends to each track's proxy, which sends to the track's UI Service: a canary proxy
    in front of a canary Service with no ready pod is a dip, and so is a UI with no proxy in front."""
    upstreams = {"rdagent-ui-stable-auth": "rdagent-ui-stable", "rdagent-ui-canary-auth": "rdagent-ui-canary"}
    events = [
        endpoints(3, "rdagent-ui-stable-auth", 2),
        endpoints(4, "rdagent-ui-stable", 3),
        endpoints(5, "rdagent-ui-canary-auth", 2),
        endpoints(6, "rdagent-ui-canary", 0, not_ready=1),
        route(7, rdagent_ui_stable_auth=95, rdagent_ui_canary_auth=5),
        endpoints(8, "rdagent-ui-canary", 1),
        endpoints(9, "rdagent-ui-stable-auth", 0),
    ]
    found = dips(judge(events, ROUTE, upstreams), minimum=2)
    assert [d.split(":")[0] for d in found] == ["at resourceVersion 7", "at resourceVersion 9"], found
    assert "rdagent-ui-canary-auth" in found[0] and "rdagent-ui-stable-auth" in found[1], found
    # Without the proxies' upstreams the judge would count the proxies' own pods and see no dip at 7.
    assert [d.split(":")[0] for d in dips(judge(events, ROUTE), minimum=2)] == ["at resourceVersion 9"]
