"""The load hook's script run by a real POSIX shell and wget against a loopback server: it sends
exactly the configured number of requests, shared by the workers, and survives failing answers."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from rdagent_infra.logic.load_hook import load_script
from tests.loopback_http import LoopbackServer


@pytest.mark.parametrize(("requests", "concurrency", "fail_every"), [(25, 3, 0), (10, 1, 4)])
def test_the_script_sends_the_configured_requests(tmp_path, requests, concurrency, fail_every):
    sh, wget = shutil.which("sh"), shutil.which("wget")
    assert sh and wget, "the load hook's script needs sh and wget (busybox in the Job's image)"
    server = LoopbackServer(lambda _path, number: 503 if fail_every and number % fail_every == 0 else 200)
    url = f"http://127.0.0.1:{server.port}/_stcore/health"
    try:
        script = load_script(url, requests, concurrency).replace("/tmp/", f"{tmp_path}/")
        result = subprocess.run([sh, "-c", script], capture_output=True, text=True, timeout=120)
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert len(server.paths) == requests and set(server.paths) == {"/_stcore/health"}
    failed = requests // fail_every if fail_every else 0
    assert f"sent {requests} request(s) to {url}, {failed} failed" in result.stdout
