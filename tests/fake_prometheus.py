"""A stand-in on loopback for what a broken proxy or a wrong URL answers in Prometheus' place
(not JSON, a matrix, a malformed sample): the client's error handling. Everything a real Prometheus
answers is tested against a real one (tests/prometheus_server.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakePrometheus:
    """`answer(query) -> (status, body)`; body is a dict (sent as JSON) or raw text."""

    def __init__(self, answer: Callable[[str], tuple[int, object]]):
        self.queries: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query).get("query", [""])[0]
                fake.queries.append(query)
                status, body = answer(query) if parsed.path == "/api/v1/query" else (404, {"status": "error", "error": "not found"})
                payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePrometheus:
        self.thread.start()
        return self

    def __exit__(self, *_) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def vector(value: float) -> tuple[int, dict]:
    return 200, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1700000000, str(value)]}]}}


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    from tests.ports import free_port

    return f"http://127.0.0.1:{free_port()}"
