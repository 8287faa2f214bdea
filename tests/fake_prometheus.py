"""A Prometheus stand-in on loopback that speaks the query API with canned answers."""

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


def metrics(success: float = 99.9, latency_ms: float = 120, error: float = 0.05) -> Callable[[str], tuple[int, object]]:
    """Answers for the three gate queries, told apart by their shape."""

    def answer(query: str) -> tuple[int, object]:
        if "histogram_quantile" in query:
            return vector(latency_ms)
        if 'code!~"5.."' in query:
            return vector(success)
        if 'code=~"5.."' in query:
            return vector(error)
        return 400, {"status": "error", "errorType": "bad_data", "error": f"unexpected query {query}"}

    return answer


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
