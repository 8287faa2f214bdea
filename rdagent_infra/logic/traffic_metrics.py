"""Where request metrics come from, per traffic provider, and the PromQL over them (the one place).

The UI (Streamlit) exports no request metrics, so they are read where the traffic is measured:

- `ingressNginx`: the controller's own metrics (internal/ingress/metric/collectors/socket.go):
  `nginx_ingress_controller_requests` (a counter, labels status, method, path, namespace, ingress,
  service, canary) and `nginx_ingress_controller_request_duration_seconds` (a histogram, seconds).
  A canary Ingress is merged into the main Ingress's location, so `service` and `ingress` name the
  main backend for every request; `canary` holds the alternative upstream
  (`<namespace>-<service>-<port>`, set by balancer.lua) for requests sent to the canary and is empty
  otherwise. The metrics carry their own `namespace` and `service`, so the controller is scraped
  with honorLabels (else Prometheus renames them exported_namespace / exported_service).
- `gatewayApi` and `replicas`: the Envoy sidecar in every UI pod (logic/envoy_sidecar.py), scraped
  per pod with the pod's track label (`rdagent_io_track`): `envoy_http_downstream_rq_xx`
  (labels envoy_response_code_class 1..5, envoy_http_conn_manager_prefix) and
  `envoy_http_downstream_rq_time` (a histogram, milliseconds). Envoy Gateway cannot serve here: its
  cluster per route rule holds every weighted backend of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdagent_infra.logic.envoy_sidecar import STAT_PREFIX

NGINX_REQUESTS = "nginx_ingress_controller_requests"
NGINX_LATENCY_BUCKETS = "nginx_ingress_controller_request_duration_seconds_bucket"
ENVOY_REQUESTS = "envoy_http_downstream_rq_xx"
ENVOY_LATENCY_BUCKETS = "envoy_http_downstream_rq_time_bucket"
TRACK_SERIES_LABEL = "rdagent_io_track"
BACKEND_PORT = 80  # the port of every UI Service (components/rdagent_ui.py)


@dataclass(frozen=True)
class TrafficSource:
    """One provider's metrics: names, how a 5xx is told, and the latency unit."""

    kind: str  # "ingressNginx" or "envoySidecar"
    requests: str
    latency_buckets: str
    server_error: str  # the matcher that keeps 5xx responses only
    latency_to_ms: float
    # Label sets that pick the whole UI (alerts, dashboards) and one group of series by.
    scope: str
    group_by: str

    def where(self, extra: str = "") -> str:
        return ", ".join(part for part in (self.scope, extra) if part)

    def request_rate(self, extra: str, window: str, by: str | None = None) -> str:
        grouping = f" by ({by})" if by else ""
        return f"sum{grouping} (rate({self.requests}{{{self.where(extra)}}}[{window}]))"

    def error_rate(self, extra: str, window: str, by: str | None = None) -> str:
        """Percent of requests answered with 5xx."""
        errors = self.request_rate(", ".join(part for part in (extra, self.server_error) if part), window, by)
        return f"100 * {errors} / {self.request_rate(extra, window, by)}"

    def success_rate(self, extra: str, window: str) -> str:
        return f"100 - ({self.error_rate(extra, window)})"

    def p95_ms(self, extra: str, window: str, by: str | None = None) -> str:
        keys = ", ".join(["le", *([by] if by else [])])
        quantile = f"histogram_quantile(0.95, sum by ({keys}) (rate({self.latency_buckets}{{{self.where(extra)}}}[{window}])))"
        return quantile if self.latency_to_ms == 1 else f"{self.latency_to_ms:g} * {quantile}"

    def request_count(self, extra: str, window: str) -> str:
        return f"sum(increase({self.requests}{{{self.where(extra)}}}[{window}]))"


def traffic_source(provider: str, namespace: str) -> TrafficSource:
    if provider == "ingressNginx":
        return TrafficSource(
            "ingressNginx",
            NGINX_REQUESTS,
            NGINX_LATENCY_BUCKETS,
            'status=~"5.."',
            1000,
            f'namespace="{namespace}", service=~"rdagent-ui.*"',
            "namespace, service",
        )
    return TrafficSource(
        "envoySidecar",
        ENVOY_REQUESTS,
        ENVOY_LATENCY_BUCKETS,
        'envoy_response_code_class="5"',
        1,
        f'namespace="{namespace}", envoy_http_conn_manager_prefix="{STAT_PREFIX}"',
        "namespace, service",
    )


def nginx_upstream(namespace: str, service: str) -> str:
    """The upstream name ingress-nginx gives a Service backend (upstreamName in the controller)."""
    return f"{namespace}-{service}-{BACKEND_PORT}"


def track_matcher(source: TrafficSource, namespace: str, track: str, service: str) -> str:
    """The extra matcher that keeps the new track's requests only."""
    if source.kind == "ingressNginx":
        return f'canary="{nginx_upstream(namespace, service)}"'
    return f'{TRACK_SERIES_LABEL}="{track}"'


def application_panels(provider: str, namespace: str) -> list[tuple[str, str, str]]:
    """The application dashboard's panels (title, expr, unit), from the same series as the gates."""
    source = traffic_source(provider, namespace)
    by_track = "canary" if source.kind == "ingressNginx" else TRACK_SERIES_LABEL
    return [
        (f"Requests per second (by {by_track})", source.request_rate("", "5m", by=by_track), "reqps"),
        ("p95 response time (ms)", source.p95_ms("", "5m", by=by_track), "ms"),
        ("Error rate (%)", source.error_rate("", "5m", by=source.group_by), "percent"),
    ]
