"""A small client for Prometheus' HTTP query API (`/api/v1/query`), with errors that say what failed."""

from __future__ import annotations

import math

import httpx

from rdagent_infra.logic.gates import Analysis
from rdagent_infra.logic.verdicts import Measurement, Verdict, judge


class PrometheusError(Exception):
    """Prometheus could not be asked, or its answer could not be read."""


class Prometheus:
    def __init__(self, base_url: str, timeout_seconds: float = 10.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout_seconds, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def query(self, expr: str) -> float | None:
        """The instant value of a scalar-like query (one series, or none: None)."""
        try:
            response = self._client.get("/api/v1/query", params={"query": expr})
        except httpx.HTTPError as exc:
            raise PrometheusError(f"Prometheus at {self.base_url} is unreachable: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(f"Prometheus at {self.base_url} answered HTTP {response.status_code} with no JSON") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error", body) if isinstance(body, dict) else body
            raise PrometheusError(f"Prometheus at {self.base_url} refused the query (HTTP {response.status_code}): {detail}")
        data = body.get("data")
        if not isinstance(data, dict) or data.get("resultType") not in ("vector", "scalar"):
            raise PrometheusError(f"Prometheus at {self.base_url} answered an unexpected shape: {str(data)[:200]}")
        result = data.get("result")
        try:
            if data["resultType"] == "scalar":
                value = float(result[1])
            elif not result:
                return None
            elif len(result) > 1:
                raise PrometheusError(f"the query returned {len(result)} series, expected one: {expr}")
            else:
                value = float(result[0]["value"][1])
        except (TypeError, KeyError, IndexError, ValueError):
            raise PrometheusError(f"Prometheus at {self.base_url} answered a malformed sample: {str(result)[:200]}") from None
        return None if math.isnan(value) else value

    def measure(self, analysis: Analysis) -> tuple[float | None, list[Measurement]]:
        """The window's request count and each gate's reading."""
        return self.query(analysis.requests_query), [gate.measure(self.query(gate.query)) for gate in analysis.gates]

    def judge(self, analysis: Analysis) -> Verdict:
        requests, measurements = self.measure(analysis)
        return judge(measurements, requests, analysis.min_requests)
