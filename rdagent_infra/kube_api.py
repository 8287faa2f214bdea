"""Read-only access to a cluster's API for preflight and `runs status`: GET a path (and its query), the
JSON back, None when absent.

Authentication is the Kubernetes client library's (the kubeconfig context: tokens, client
certificates, exec plugins such as `aws eks get-token`).
"""

from __future__ import annotations

import json
from typing import Any

TIMEOUT_SECONDS = 10


class KubeApiError(Exception):
    pass


class KubeApi:
    def __init__(self, client: Any):
        self.client = client

    @classmethod
    def from_context(cls, context: str | None, config_file: str | None = None) -> KubeApi:
        from kubernetes import config

        return cls(config.new_client_from_config(config_file=config_file, context=context))

    def get(self, path: str, query: dict[str, str] | None = None) -> dict | None:
        method, url, headers, body, post = self.client.param_serialize(
            method="GET",
            resource_path=path,
            query_params=list((query or {}).items()),
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = self.client.call_api(method, url, headers, body, post, _request_timeout=TIMEOUT_SECONDS)
        response.read()
        if response.status == 404:
            return None
        if response.status >= 400:
            raise KubeApiError(f"GET {path}: HTTP {response.status}: {response.data[:200]!r}")
        return json.loads(response.data)
