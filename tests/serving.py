"""Watches what serves the UI while a rollout moves, and judges it afterwards.

What is watched: the HTTPRoute and the namespace's EndpointSlices, each through the API server's
watch stream, resumed from the last resourceVersion it saw (bookmarks included) whenever a stream
ends; a stream relists only when the server answers 410 Gone. Every event is logged with its
resourceVersion, so a change that starts and ends between two lists is still seen.

How it is judged (`judge`, a pure function of the log): the events replayed in the API server's
order, the resourceVersion (on this test cluster one etcd numbers every write of every kind in one
sequence: an implementation detail Kubernetes does not promise in general, which the replay relies
on only here), whatever order the streams delivered them in. After every event, each backend of
the route with a weight above zero is judged on its own: its ready endpoints (the EndpointSlices
labelled with its Service's name), never zero, and all weighted backends together at least the
minimum; a backend that is a sign-in proxy is judged with the UI Service behind it (both need
ready endpoints, the UI's count). A 5% canary sent to a Service with no ready endpoint is a dip
even when the stable track has pods to spare.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import httpx

from tests.cluster import Api

SERVICE_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Event:
    stream: str  # "routes" or "slices"
    type: str  # ADDED, MODIFIED, DELETED (a relist's items come as ADDED, its losses as DELETED)
    version: int  # the object's resourceVersion after this change
    name: str
    obj: dict = field(compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Moment:
    version: int
    weights: dict[str, int]
    # Ready endpoints of the Service that serves each weighted backend (weight > 0): the backend
    # itself, or, behind a sign-in proxy, the UI Service the proxy sends to.
    ready_by_backend: dict[str, int]
    serving: int  # distinct ready endpoint addresses of those Services
    doors: dict[str, int] = field(default_factory=dict)  # ready endpoints of each weighted proxy backend


def ready_addresses(slices: dict[str, dict], service: str) -> set[str]:
    """The addresses of the ready, not terminating endpoints of `service` (an unset `ready` is ready)."""
    found = set()
    for endpoint_slice in slices.values():
        if endpoint_slice["metadata"].get("labels", {}).get(SERVICE_LABEL) != service:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            if conditions.get("ready") is not False and not conditions.get("terminating"):
                found.update(endpoint.get("addresses") or [])
    return found


def route_weights(route: dict | None) -> dict[str, int]:
    if route is None:
        return {}
    return {ref["name"]: ref.get("weight", 1) for rule in route["spec"]["rules"] for ref in rule.get("backendRefs", [])}


def judge(events: list[Event], route: str, upstreams: dict[str, str] | None = None) -> list[Moment]:
    """The state after each event, replayed in resourceVersion order (the input order does not
    matter). `upstreams` maps a backend that is a sign-in proxy to the UI Service it sends to: both
    must have ready endpoints."""
    upstreams = upstreams or {}
    stores: dict[str, dict[str, dict]] = {"routes": {}, "slices": {}}
    moments = []
    for event in sorted(events, key=lambda e: (e.version, e.stream, e.name, e.type)):
        if event.type == "DELETED":
            stores[event.stream].pop(event.name, None)
        else:
            stores[event.stream][event.name] = event.obj
        weights = route_weights(stores["routes"].get(route))
        weighted = [name for name, weight in weights.items() if weight > 0]
        addresses = {name: ready_addresses(stores["slices"], upstreams.get(name, name)) for name in weighted}
        doors = {name: len(ready_addresses(stores["slices"], name)) for name in weighted if name in upstreams}
        ready = {name: len(found) for name, found in addresses.items()}
        moments.append(Moment(event.version, weights, ready, len(set().union(*addresses.values())), doors))
    return moments


def dips(moments: list[Moment], minimum: int) -> list[str]:
    """Every moment a weighted backend (or the proxy in front of it) had no ready endpoint, or all of
    them fewer than `minimum`."""
    found = []
    for moment in moments:
        if not moment.weights:
            continue  # before the route exists: nothing is routed yet
        empty = sorted({name for name, ready in [*moment.ready_by_backend.items(), *moment.doors.items()] if ready == 0})
        if empty:
            found.append(f"at resourceVersion {moment.version}: {', '.join(empty)} weighted {moment.weights} with no ready endpoint")
        elif moment.serving < minimum:
            found.append(f"at resourceVersion {moment.version}: {moment.serving} ready endpoint(s) behind {moment.weights}, fewer than {minimum}")
    return found


def weight_sequence(moments: list[Moment]) -> list[dict[str, int]]:
    """The route's weights as they changed (each distinct state once, in order)."""
    sequence: list[dict[str, int]] = []
    for moment in moments:
        if moment.weights and (not sequence or sequence[-1] != moment.weights):
            sequence.append(moment.weights)
    return sequence


@dataclass
class ServingWatch:
    api: Api
    namespace: str
    route: str = "rdagent-ui"
    upstreams: dict[str, str] = field(default_factory=dict)  # proxy backend -> the UI Service behind it
    events: list[Event] = field(default_factory=list)
    relists: int = 0

    def __post_init__(self):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._errors: list[str] = []
        ns = self.namespace
        self._paths = {
            "routes": (f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes", {"fieldSelector": f"metadata.name={self.route}"}),
            "slices": (f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices", {}),
        }
        self._threads = [threading.Thread(target=self._watch, args=(stream,), daemon=True) for stream in self._paths]
        self._listed = threading.Barrier(len(self._paths) + 1, timeout=60)

    def __enter__(self) -> ServingWatch:
        for thread in self._threads:
            thread.start()
        self._listed.wait()
        return self

    def __exit__(self, *_):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        assert not self._errors, self._errors

    def moments(self) -> list[Moment]:
        with self._lock:
            return judge(list(self.events), self.route, self.upstreams)

    def _log(self, stream: str, kind: str, obj: dict) -> None:
        meta = obj["metadata"]
        with self._lock:
            self.events.append(Event(stream, kind, int(meta["resourceVersion"]), meta["name"], obj))

    def _list(self, api: Api, stream: str, known: dict[str, dict]) -> str:
        """Lists the stream's objects, logs what changed since `known`, and returns the list's resourceVersion."""
        path, params = self._paths[stream]
        listing = api.get(path, **params)
        version = listing["metadata"]["resourceVersion"]
        current = {item["metadata"]["name"]: item for item in listing["items"]}
        for name, item in current.items():
            if known.get(name, {}).get("metadata", {}).get("resourceVersion") != item["metadata"]["resourceVersion"]:
                self._log(stream, "ADDED", item)
        for name in set(known) - set(current):
            gone = json.loads(json.dumps(known[name]))
            gone["metadata"]["resourceVersion"] = version  # its deletion happened at or before the list
            self._log(stream, "DELETED", gone)
        known.clear()
        known.update(current)
        return version

    def _watch(self, stream: str) -> None:
        path, params = self._paths[stream]
        api = self.api.fresh()
        known: dict[str, dict] = {}
        try:
            version = self._list(api, stream, known)
            self._listed.wait()
            while not self._stop.is_set():
                version, gone = self._follow(api, stream, path, params, version, known)
                if gone:
                    self.relists += 1
                    version = self._list(api, stream, known)
        except Exception as error:  # surfaced in __exit__: a watch that died would hide changes
            self._errors.append(f"{stream} watch: {error!r}")
            self._listed.abort()
        finally:
            api.close()

    def _follow(self, api: Api, stream: str, path: str, params: dict, version: str, known: dict[str, dict]) -> tuple[str, bool]:
        """One watch request from `version`: (the last resourceVersion seen, whether the server said 410 Gone)."""
        query = {**params, "watch": "1", "resourceVersion": version, "allowWatchBookmarks": "true", "timeoutSeconds": "5"}
        try:
            with api.http.stream("GET", path, params=query, timeout=httpx.Timeout(30, read=15)) as response:
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return version, False
                    if not line:
                        continue
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if obj.get("code") == 410:
                            return version, True
                        raise RuntimeError(f"watch error: {obj}")
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] == "BOOKMARK":
                        continue
                    name = obj["metadata"]["name"]
                    if event["type"] == "DELETED":
                        known.pop(name, None)
                    else:
                        known[name] = obj
                    self._log(stream, event["type"], obj)
        except httpx.ReadTimeout:
            pass  # an idle stream: resume from the same resourceVersion
        return version, False
