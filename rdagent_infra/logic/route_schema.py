"""Does a cluster's HTTPRoute have the fields the rendered route uses?

A rule's `sessionPersistence` (Gateway API GEP-1619: a session cookie that keeps a user's requests
on the pod they landed on) is in the Gateway API's experimental channel only (v1.3.0). Envoy Gateway's
chart installs that channel; a cluster that has the standard channel's CRDs refuses the route under
the strict field validation of the Kubernetes provider's server-side apply.
"""

from __future__ import annotations

# The name the API server publishes the HTTPRoute schema under (GET /openapi/v3/apis/gateway.networking.k8s.io/v1).
ROUTE_SCHEMA = "io.k8s.networking.gateway.v1.HTTPRoute"
# The cookie that keeps a user's session on its pod (the route rule's sessionPersistence.sessionName).
SESSION_COOKIE = "rdagent-ui-pod"


def rule_fields(route_schema: dict) -> set[str]:
    """The fields an HTTPRoute rule may have, from an OpenAPI v3 schema of the HTTPRoute object (a
    CRD version's openAPIV3Schema, or the component the API server publishes)."""
    try:
        return set(route_schema["properties"]["spec"]["properties"]["rules"]["items"]["properties"])
    except (KeyError, TypeError):
        return set()


def session_persistence(enabled: bool) -> dict:
    """What a route rule adds for sticky sessions: a session cookie, for the browser's session (no
    absoluteTimeout: Envoy Gateway sets a cookie lifetime only for a Permanent cookie)."""
    return {"sessionPersistence": {"sessionName": SESSION_COOKIE, "type": "Cookie"}} if enabled else {}
