"""`rdagent-infra rollout run` end to end: every move through the real Pulumi engine (the render-only
test stack, its own file backend), every analysis against a real Prometheus holding the scenario's
series, step durations shortened by rollout.durationScale. Also what a failed or interrupted move
leaves behind (real-cluster findings 5 and 6)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from rdagent_infra.rollouts import file_backend_locks
from tests.conftest import ROOT
from tests.prometheus_server import PrometheusServer
from tests.traffic_series import SCENARIOS, counters_for, openmetrics

pytestmark = [pytest.mark.engine, pytest.mark.prometheus, pytest.mark.usefixtures("engine")]
CLI = str(ROOT / ".venv" / "bin" / "rdagent-infra")
# 5 minutes become 1.5 s, 15 become 4.5 s, 30 become 9 s; an analysis every 400 x 0.005 = 2 s.
FAST = {"durationScale": 0.005, "analysis": {"intervalSeconds": 400, "inconclusiveLimit": 1}}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, real_prometheus):
    """Every scenario of the Envoy sidecar's series, each in the namespace named after it."""
    counters = [counter for name, loads in SCENARIOS.items() for counter in counters_for("gatewayApi", loads, name)]
    with PrometheusServer(tmp_path_factory.mktemp("prom"), openmetrics=openmetrics(counters, time.time())) as server:
        yield server


class Project:
    """A copy of the project with the test stack set for a scenario, and its own state backend."""

    def __init__(self, base: Path, scenario: str, prometheus_url: str, rollout: dict | None = None):
        if not (ROOT / ".tools" / "bin" / "pulumi").exists():
            pytest.fail("the Pulumi engine is not built: run make test (it runs scripts/engine-toolchain.sh)")
        self.dir = base / "project"
        self.dir.mkdir()
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(ROOT / name, self.dir / name)
        (self.dir / ".venv").symlink_to(ROOT / ".venv")
        document = yaml.safe_load((ROOT / "Pulumi.test.yaml").read_text())
        document["config"]["rdagent:namespace"] = scenario
        document["config"]["rdagent:monitoring"]["prometheusUrl"] = prometheus_url
        document["config"]["rdagent:rollout"].update(rollout or FAST)
        self.file = self.dir / "Pulumi.test.yaml"
        self.file.write_text(yaml.safe_dump(document))
        self.state = base / "state"
        self.state.mkdir()
        self.env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{self.state}", "PULUMI_CONFIG_PASSPHRASE": "rdagent-local"}

    def rollout(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([CLI, "rollout", *args, "--stack", "test"], cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=timeout)

    def popen_run(self) -> subprocess.Popen:
        return subprocess.Popen(
            [CLI, "rollout", "run", "--stack", "test"],
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def rollout_config(self) -> dict:
        return yaml.safe_load(self.file.read_text())["config"]["rdagent:rollout"]

    def rendered(self, pattern: str) -> list[str]:
        return sorted(path.name for path in (self.dir / "build" / "test").rglob(pattern))

    def weights(self) -> dict[str, int]:
        route = next(yaml.safe_load(p.read_text()) for p in (self.dir / "build" / "test").rglob("*httproute*"))
        return {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}


def started(project: Project) -> None:
    result = project.rollout("start", "--version", "0.9.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert project.weights() == {"rdagent-ui-stable": 95, "rdagent-ui-canary": 5}


def read_until(process: subprocess.Popen, marker: str, timeout: float = 300) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not seen:\n" + "\n".join(lines))


# Step 1 must outlast its own update (about 5 s here) for the run to be caught waiting: 15 min x 0.02
# = 18 s; the last stage is cut to one minute (1.2 s); an analysis every 40 x 0.02 = 0.8 s.
SLOWER = {
    "durationScale": 0.02,
    "analysis": {"intervalSeconds": 40},
    "canary": {
        "stages": [
            {"weightPercent": 5, "durationMinutes": 5, "successRatePercent": 99, "latencyThresholdMs": 200},
            {"weightPercent": 25, "durationMinutes": 15, "errorRatePercent": 0.1},
            {"weightPercent": 100, "durationMinutes": 1, "autoPromote": True},
        ]
    },
}


def test_a_good_canary_is_promoted_even_when_the_run_is_killed_and_started_again(tmp_path, prometheus):
    project = Project(tmp_path, "good", prometheus.url, SLOWER)
    started(project)
    first = project.popen_run()
    try:
        seen = read_until(first, "advance to step 1: 25%")
        seen += read_until(first, "rollout run: waiting")  # the update of step 1 is done, the step runs
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert any("analysis pass: 300 request(s); success rate 99.95% (needs > 99%); p95 response time 48.75ms (needs < 200ms)" in line for line in seen), seen
    assert project.rollout_config()["step"] in (1, "1") and project.weights() == {"rdagent-ui-stable": 75, "rdagent-ui-canary": 25}
    assert not file_backend_locks(f"file://{project.state}", "rdagent-infra", "test"), "the kill came between updates: no lock"

    resumed = subprocess.run([CLI, "rollout", "run", "--stack", "test"], cwd=project.dir, env=project.env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "step 1 (25% to 0.9.0): analysis pass" in resumed.stdout and "error rate 0.05% (needs < 0.1%)" in resumed.stdout
    assert "advance to step 2: 100%" in resumed.stdout and "promote 0.9.0" in resumed.stdout
    assert "rollout run: 0.9.0 is promoted" in resumed.stdout
    config = project.rollout_config()
    assert config["stableVersion"] == "0.9.0" and "newVersion" not in config
    assert not [name for name in project.rendered("*Deployment*") if "canary" in name], project.rendered("*Deployment*")


def started_then(tmp_path, prometheus, scenario: str, command: str, status: int) -> tuple[Project, subprocess.CompletedProcess]:
    project = Project(tmp_path, scenario, prometheus.url)
    started(project)
    result = project.rollout(command)
    assert result.returncode == status, result.stdout + result.stderr
    return project, result


def test_a_5xx_heavy_canary_aborts_naming_the_gate(tmp_path, prometheus):
    project, result = started_then(tmp_path, prometheus, "errors", "run", 1)
    assert "analysis fail: gate failed: success rate 60% (needs > 99%)" in result.stdout
    assert "decision: wait: failing analysis 1 of failureLimit 2" in result.stdout
    assert "decision: abort: 2 consecutive failing analysis(es), failureLimit 2" in result.stdout
    assert "rollout run: aborted: 0.9.0 rolled back" in result.stderr
    config = project.rollout_config()
    assert "newVersion" not in config and "failedAnalyses" not in config
    assert not [name for name in project.rendered("*Deployment*") if "canary" in name]


def test_a_quiet_canary_waits_then_aborts_at_the_inconclusive_limit(tmp_path, prometheus):
    project, result = started_then(tmp_path, prometheus, "quiet", "run", 1)
    out = result.stdout
    assert "analysis inconclusive: 6 request(s) in the window, fewer than minRequests 50" in out
    assert "decision: wait: inconclusive analysis 1 of inconclusiveLimit 1: waiting" in out
    assert "decision: abort: 2 inconclusive analyses after the step's duration, inconclusiveLimit 1" in out
    assert "newVersion" not in project.rollout_config()


def test_a_slow_canary_fails_on_p95(tmp_path, prometheus):
    project, first = started_then(tmp_path, prometheus, "slow", "advance", 3)
    assert "analysis fail: gate failed: p95 response time 487.5ms (needs < 200ms)" in first.stdout
    assert project.rollout_config()["failedAnalyses"] in (1, "1")  # counted in the stack config, no update
    second = project.rollout("advance")
    assert second.returncode == 1 and "rollout: aborted: 0.9.0 rolled back" in second.stderr, second.stdout + second.stderr


def test_a_failed_start_is_not_recorded(tmp_path, prometheus):
    """Finding 5: the update fails (here: the stack's secrets cannot be decrypted), and the stack
    file is back as it was, with a message saying so."""
    project = Project(tmp_path, "good", prometheus.url)
    init = subprocess.run(
        [str(ROOT / "scripts" / "pulumi"), "stack", "init", "test"], cwd=project.dir, env=project.env, capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0, init.stderr
    before = project.file.read_bytes()
    project.env["PULUMI_CONFIG_PASSPHRASE"] = "not-the-passphrase"
    result = project.rollout("start", "--version", "0.9.0")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "the update did not complete, so the move (start 0.9.0: 5% of traffic at step 0) is not recorded: Pulumi.test.yaml is back as it was" in result.stderr
    )
    assert project.file.read_bytes() == before


def test_abort_on_a_locked_stack_changes_nothing(tmp_path, prometheus):
    """Finding 6: an interrupted update leaves the backend's lock; abort refuses before touching config."""
    project = Project(tmp_path, "good", prometheus.url)
    started(project)
    update = subprocess.Popen(
        [str(ROOT / "scripts" / "pulumi"), "up", "--stack", "test", "--yes", "--non-interactive", "--refresh"],
        cwd=project.dir,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not file_backend_locks(f"file://{project.state}", "rdagent-infra", "test") and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(update.pid, signal.SIGKILL)
    update.wait(timeout=30)
    locks = file_backend_locks(f"file://{project.state}", "rdagent-infra", "test")
    assert locks, "the killed update left no lock where pkg/backend/diy puts it"
    before = project.file.read_bytes()
    result = project.rollout("abort")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is locked by an update that is running or was interrupted" in result.stderr and "no change made" in result.stderr
    assert project.file.read_bytes() == before
