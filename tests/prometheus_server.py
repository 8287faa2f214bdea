"""A real Prometheus server (Debian's `prometheus`, /usr/bin/prometheus) for tests: its own temporary
TSDB, a free loopback port, series backfilled with `promtool tsdb create-blocks-from openmetrics`
and/or scrape targets the test drives."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from tests.ports import PortTaken, bind_failed, on_free_ports

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
START_TIMEOUT_SECONDS = 60


def backfill(openmetrics: str, data_dir: Path) -> None:
    """Write OpenMetrics text into TSDB blocks under data_dir."""
    assert Path(PROMTOOL).exists(), "promtool is missing: make validators installs Debian's prometheus package"
    source = data_dir.parent / "backfill.om"
    source.write_text(openmetrics)
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"promtool backfill failed:\n{result.stdout}\n{result.stderr}"


class PrometheusServer:
    """`with PrometheusServer(tmp_path, openmetrics=..., scrape=[{"targets": [...], "labels": {...}}]) as prom:`"""

    def __init__(self, base: Path, openmetrics: str | None = None, scrape: list[dict] | None = None, scrape_interval: str = "1s"):
        assert Path(PROMETHEUS).exists(), "prometheus is missing: make validators installs Debian's prometheus package"
        self.base = base
        self.data_dir = base / "tsdb"
        self.openmetrics = openmetrics
        self.scrape = scrape or []
        self.scrape_interval = scrape_interval
        self.process: subprocess.Popen | None = None
        self.url = ""

    def _config(self) -> Path:
        jobs = [
            {
                "job_name": f"target-{index}",
                "metrics_path": target.get("path", "/metrics"),
                "static_configs": [{"targets": target["targets"], "labels": target.get("labels", {})}],
            }
            for index, target in enumerate(self.scrape)
        ]
        config = {"global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.scrape_interval}, "scrape_configs": jobs}
        path = self.base / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self) -> PrometheusServer:
        if self.openmetrics is not None:
            backfill(self.openmetrics, self.data_dir)
        config = self._config()
        return on_free_ports(1, lambda ports: self._start_on(config, ports[0]))

    def _start_on(self, config: Path, port: int) -> PrometheusServer:
        log = (self.base / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.data_dir}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        if self._wait_ready():
            return self
        self.stop()
        said = (self.base / "prometheus.log").read_text()
        if bind_failed(said):
            raise PortTaken(said[-500:])
        raise AssertionError(f"Prometheus did not become ready:\n{said[-3000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def query(self, expr: str) -> list[dict]:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_for(self, expr: str, timeout: float = 30) -> list[dict]:
        """Poll until the query returns a series (a scrape has landed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(expr)
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(f"no series for {expr} within {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(self, *_) -> None:
        self.stop()
