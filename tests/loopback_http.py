"""A small HTTP server on a free loopback port that answers GETs with a status chosen per request
(standing in for Streamlit behind the sidecar, the load hook's target, or an OIDC issuer's
documents); it records paths."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """`status(path, number)` -> the HTTP status of the number-th request (1-based); `body(path)` ->
    what it answers, of `content_type`."""

    def __init__(self, status: Callable[[str, int], int], body: Callable[[str], bytes] = lambda _: b"ok", content_type: str = "text/plain"):
        self.paths: list[str] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                with lock:
                    server.paths.append(self.path)
                    number = len(server.paths)
                payload = body(self.path)
                self.send_response(status(self.path, number))
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
