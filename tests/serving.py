"""Watches what serves the UI while a rollout moves: pods, Services and the HTTPRoute, through the
API server's watch streams (every change is seen, none sampled away), and after every change
counts the ready pods behind the route's weighted backends."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.cluster import Api, is_ready

UI_PODS = "app.kubernetes.io/name=rdagent-ui,app.kubernetes.io/component=ui"


@dataclass
class Moment:
    at: float
    serving_ready: int
    weights: dict[str, int]
    ready_by_track: dict[str, int]


@dataclass
class ServingWatch:
    api: Api
    namespace: str
    route: str = "rdagent-ui"
    moments: list[Moment] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stores: dict[str, dict[str, dict]] = {"pods": {}, "services": {}, "routes": {}}
        self._errors: list[str] = []
        ns = self.namespace
        self._paths = {
            "pods": (f"/api/v1/namespaces/{ns}/pods", {"labelSelector": UI_PODS}),
            "services": (f"/api/v1/namespaces/{ns}/services", {}),
            "routes": (f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes", {"fieldSelector": f"metadata.name={self.route}"}),
        }
        self._threads = [threading.Thread(target=self._watch, args=(kind,), daemon=True) for kind in self._paths]
        self._listed = threading.Barrier(len(self._paths) + 1, timeout=60)

    def __enter__(self) -> ServingWatch:
        for thread in self._threads:
            thread.start()
        self._listed.wait()
        with self._lock:
            self._record()
        return self

    def __exit__(self, *_):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        assert not self._errors, self._errors

    def _watch(self, kind: str) -> None:
        path, params = self._paths[kind]
        api = self.api.fresh()
        listed = False
        try:
            while not self._stop.is_set():
                listing = api.get(path, **params)
                with self._lock:
                    self._stores[kind] = {item["metadata"]["name"]: item for item in listing["items"]}
                    if listed:
                        self._record()
                if not listed:
                    listed = True
                    self._listed.wait()
                version = listing["metadata"]["resourceVersion"]
                query = {**params, "watch": "1", "resourceVersion": version, "allowWatchBookmarks": "true", "timeoutSeconds": "5"}
                try:
                    with api.http.stream("GET", path, params=query, timeout=httpx.Timeout(30, read=10)) as response:
                        for line in response.iter_lines():
                            if self._stop.is_set():
                                return
                            if line:
                                self._event(kind, json.loads(line))
                except httpx.ReadTimeout:
                    continue
        except Exception as error:  # surfaced in __exit__: a watch that died would hide moments
            self._errors.append(f"{kind} watch: {error!r}")
            if not listed:
                self._listed.abort()
        finally:
            api.close()

    def _event(self, kind: str, event: dict) -> None:
        obj = event["object"]
        if event["type"] in ("BOOKMARK", "ERROR"):
            return
        with self._lock:
            if event["type"] == "DELETED":
                self._stores[kind].pop(obj["metadata"]["name"], None)
            else:
                self._stores[kind][obj["metadata"]["name"]] = obj
            self._record()

    def _record(self) -> None:
        route = self._stores["routes"].get(self.route)
        weights = {ref["name"]: ref.get("weight", 1) for ref in route["spec"]["rules"][0]["backendRefs"]} if route else {}
        ready = [p for p in self._stores["pods"].values() if is_ready(p) and not p["metadata"].get("deletionTimestamp")]
        serving = set()
        for service_name, weight in weights.items():
            service = self._stores["services"].get(service_name)
            if not service or weight <= 0:
                continue
            wanted = service["spec"].get("selector") or {}
            serving |= {p["metadata"]["name"] for p in ready if all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())}
        by_track: dict[str, int] = {}
        for pod in ready:
            track = pod["metadata"]["labels"].get("rdagent.io/track", "-")
            by_track[track] = by_track.get(track, 0) + 1
        self.moments.append(Moment(time.monotonic(), len(serving), weights, by_track))

    def lowest(self) -> Moment:
        with self._lock:
            return min(self.moments, key=lambda moment: moment.serving_ready)
