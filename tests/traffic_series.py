"""Request series with the real metric names and labels of each traffic source, as counters that
grow at a steady rate; rendered as OpenMetrics text (backfilled into a real Prometheus) and as
promtool's input_series (the alert rule tests): one scenario, both places."""

from __future__ import annotations

from dataclasses import dataclass

from rdagent_infra.logic.traffic_metrics import ENVOY_LATENCY_BUCKETS, ENVOY_REQUESTS, NGINX_LATENCY_BUCKETS, NGINX_REQUESTS, nginx_upstream

NS = "rdagent"
# ingress-nginx's default time buckets (prometheus.DefBuckets, seconds) and Envoy's default histogram buckets (ms).
NGINX_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
ENVOY_BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000)
CONTROLLER = {"controller_namespace": "ingress-nginx", "controller_class": "k8s.io/ingress-nginx", "controller_pod": "ingress-nginx-controller-7d9f8-abcde"}


@dataclass(frozen=True)
class Load:
    """Requests a second to one track, the share answered 5xx, and how long every request takes."""

    rps: float
    error_ratio: float = 0.0
    latency_ms: float = 40.0


@dataclass(frozen=True)
class Counter:
    name: str
    labels: dict[str, str]
    per_second: float

    def selector(self) -> str:
        rendered = ",".join(f'{key}="{value}"' for key, value in sorted(self.labels.items()))
        return f"{self.name}{{{rendered}}}"


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) or bound < 1 else f"{int(bound)}"


def _histogram(name: str, labels: dict[str, str], load: Load, bounds: tuple[float, ...], scale: float) -> list[Counter]:
    latency = load.latency_ms / scale
    buckets = [Counter(f"{name}_bucket", {**labels, "le": _le(bound)}, load.rps if latency <= bound else 0.0) for bound in bounds]
    buckets.append(Counter(f"{name}_bucket", {**labels, "le": "+Inf"}, load.rps))
    return [*buckets, Counter(f"{name}_count", labels, load.rps), Counter(f"{name}_sum", labels, load.rps * latency)]


def nginx_counters(loads: dict[str, Load], namespace: str = NS) -> list[Counter]:
    """`loads`: track -> load; the canary (or preview) track's requests carry the canary label."""
    counters = []
    for track, load in loads.items():
        backend = {"stable": "", "blue": "", "canary": "rdagent-ui-canary", "green": "rdagent-ui-preview"}[track]
        labels = {**CONTROLLER, "namespace": namespace, "ingress": "rdagent-ui", "service": "rdagent-ui-stable", "method": "GET", "path": "/"}
        if backend:
            labels["canary"] = nginx_upstream(namespace, backend)
        ok = load.rps * (1 - load.error_ratio)
        counters.append(Counter(NGINX_REQUESTS, {**labels, "status": "200"}, ok))
        counters.append(Counter(NGINX_REQUESTS, {**labels, "status": "503"}, load.rps - ok))
        counters += _histogram(NGINX_LATENCY_BUCKETS.removesuffix("_bucket"), {**labels, "status": "200"}, load, NGINX_BUCKETS, 1000)
    return counters


def envoy_counters(loads: dict[str, Load], namespace: str = NS) -> list[Counter]:
    """The sidecar's series as the ServiceMonitor labels them (pod, service, the track label)."""
    counters = []
    for track, load in loads.items():
        labels = {
            "namespace": namespace,
            "service": "rdagent-ui",
            "pod": f"rdagent-ui-{track}-5c7f9d-x2k4p",
            "container": "proxy",
            "endpoint": "envoy-stats",
            "rdagent_io_track": track,
            "envoy_http_conn_manager_prefix": "ui",
        }
        ok = load.rps * (1 - load.error_ratio)
        for code_class, rate in (("1", 0.0), ("2", ok), ("3", 0.0), ("4", 0.0), ("5", load.rps - ok)):
            counters.append(Counter(ENVOY_REQUESTS, {**labels, "envoy_response_code_class": code_class}, rate))
        counters += _histogram(ENVOY_LATENCY_BUCKETS.removesuffix("_bucket"), labels, load, ENVOY_BUCKETS, 1)
    return counters


def counters_for(provider: str, loads: dict[str, Load], namespace: str = NS) -> list[Counter]:
    return nginx_counters(loads, namespace) if provider == "ingressNginx" else envoy_counters(loads, namespace)


def openmetrics(counters: list[Counter], now: float, past_minutes: int = 40, future_minutes: int = 60, step_seconds: int = 15) -> str:
    """Samples every step_seconds from `past_minutes` before `now` to `future_minutes` after it,
    grouped by metric name: a window ending at any moment of a (slow) test run is full."""
    start = int(now) - past_minutes * 60
    end = int(now) + future_minutes * 60
    lines: list[str] = []
    for name in dict.fromkeys(counter.name for counter in counters):
        lines.append(f"# TYPE {name} unknown")
        for counter in (c for c in counters if c.name == name):
            for t in range(start, end + 1, step_seconds):
                value = counter.per_second * (t - start)
                lines.append(f"{counter.selector()} {value:.6f} {t}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def promtool_series(counters: list[Counter], minutes: int, interval_seconds: int = 60) -> list[dict]:
    """promtool input_series: each counter grows per interval for `minutes` minutes."""
    samples = minutes * 60 // interval_seconds
    return [{"series": counter.selector(), "values": f"0+{counter.per_second * interval_seconds:g}x{samples}"} for counter in counters]


# The canaries the gate tests and the alert tests share (track -> load).
SCENARIOS: dict[str, dict[str, Load]] = {
    # 1 in 1000 answered 5xx, 40 ms: passes success rate > 99%, p95 < 200 ms and error rate < 0.1%.
    "good": {"stable": Load(4.0, 0.0005, 40), "canary": Load(1.0, 0.0005, 40)},
    # The canary answers 40% with 5xx: its gates fail, and the whole service's error rate is 8% (alert at 5%).
    "errors": {"stable": Load(4.0, 0.0, 40), "canary": Load(1.0, 0.4, 40)},
    # The canary answers well but takes 400 ms: p95 fails.
    "slow": {"stable": Load(4.0, 0.0, 40), "canary": Load(1.0, 0.0, 400)},
    # The canary sees 6 requests in 5 minutes (fewer than minRequests): inconclusive.
    "quiet": {"stable": Load(4.0, 0.0, 40), "canary": Load(0.02, 0.0, 40)},
}
