"""The load hook's script run by a real POSIX shell and wget against a loopback server: it sends
exactly the configured number of requests, shared by the workers, and survives failing answers."""

from __future__ import annotations

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rdagent_infra.logic.load_hook import load_script


class Counting:
    def __init__(self, fail_every: int = 0):
        self.paths: list[str] = []
        counting = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                counting.paths.append(self.path)
                failing = fail_every and len(counting.paths) % fail_every == 0
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_stcore/health"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(("requests", "concurrency", "fail_every"), [(25, 3, 0), (10, 1, 4)])
def test_the_script_sends_the_configured_requests(tmp_path, requests, concurrency, fail_every):
    sh, wget = shutil.which("sh"), shutil.which("wget")
    assert sh and wget, "the load hook's script needs sh and wget (busybox in the Job's image)"
    server = Counting(fail_every)
    try:
        script = load_script(server.url, requests, concurrency).replace("/tmp/", f"{tmp_path}/")
        result = subprocess.run([sh, "-c", script], capture_output=True, text=True, timeout=120)
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert len(server.paths) == requests and set(server.paths) == {"/_stcore/health"}
    failed = requests // fail_every if fail_every else 0
    assert f"sent {requests} request(s) to {server.url}, {failed} failed" in result.stdout
