"""The rollout commands' analysis and safety without the engine: gate queries, the pure verdict and
decision functions, `rollout status/advance` against a real Prometheus, the client's errors, and
the refusal to move a non-dev stack on local fallbacks."""

from __future__ import annotations

import re
import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from rdagent_infra.config import SecretValue, load_stack_config
from rdagent_infra.logic.gates import gates_for
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.logic.verdicts import FAIL, INCONCLUSIVE, PASS, Action, Counts, Limits, Measurement, decide, judge
from rdagent_infra.prometheus import Prometheus, PrometheusError
from rdagent_infra.rollouts import RolloutError, UnsafeEngineSettings, engine_environment
from tests.conftest import ROOT, run_cli
from tests.fake_prometheus import FakePrometheus, closed_port_url, vector
from tests.prometheus_server import PrometheusServer
from tests.traffic_series import SCENARIOS, counters_for, openmetrics

SECRET = SecretValue("x")
BASE = {"secrets": {"redisPassword": SECRET, "elasticPassword": SECRET}}


def canary(step: int):
    config = load_stack_config({**BASE, "rollout": {"strategy": "canary", "stableVersion": "1.0.0", "newVersion": "1.1.0", "step": step}}, "dev", "x")
    return config, plan_rollout(config.rollout, config.workloads.ui.replicas)


def test_first_canary_stage_gates_follow_the_seed():
    config, plan = canary(0)
    gates = {gate.name: gate for gate in gates_for(config, plan)}
    assert set(gates) == {"success rate", "p95 response time"}
    assert (gates["success rate"].threshold, gates["success rate"].above) == (99, True)
    assert (gates["p95 response time"].threshold, gates["p95 response time"].above) == (200, False)
    assert "[5m]" in gates["success rate"].query and 'rdagent_io_track="canary"' in gates["success rate"].query
    assert "envoy_http_downstream_rq_xx" in gates["success rate"].query
    config, plan = canary(1)
    (gate,) = gates_for(config, plan)
    assert (gate.name, gate.threshold, gate.above) == ("error rate", 0.1, False) and "[15m]" in gate.query


def _m(value, threshold=99.0, above=True):
    return Measurement("success rate", value, threshold, above, "%")


@pytest.mark.parametrize(
    ("measurements", "requests", "outcome", "reason"),
    [
        ([_m(99.5)], 120, PASS, "success rate 99.5%"),
        ([_m(98.0)], 120, FAIL, "gate failed: success rate 98% (needs > 99%)"),
        ([_m(98.0)], 49, INCONCLUSIVE, "49 request(s) in the window, fewer than minRequests 50"),
        ([_m(None)], 120, INCONCLUSIVE, "success rate no data"),
        ([_m(99.9)], None, INCONCLUSIVE, "no requests in the window"),
        ([], None, PASS, "no gates at this step"),
    ],
)
def test_judge(measurements, requests, outcome, reason):
    verdict = judge(measurements, requests, 50)
    assert verdict.outcome == outcome and reason in verdict.line()


LIMITS = Limits(failure_limit=2, inconclusive_limit=1)
V = {outcome: judge(m, 100, 50) for outcome, m in ((PASS, [_m(99.9)]), (FAIL, [_m(90)]))}
V[INCONCLUSIVE] = judge([_m(99.9)], 3, 50)


@pytest.mark.parametrize(
    ("outcome", "counts", "step_done", "action", "after"),
    [
        (PASS, Counts(1, 1), False, Action.WAIT, Counts()),
        (PASS, Counts(1, 0), True, Action.ADVANCE, Counts()),
        (FAIL, Counts(), False, Action.WAIT, Counts(1, 0)),
        (FAIL, Counts(1, 0), False, Action.ABORT, Counts(2, 0)),
        (INCONCLUSIVE, Counts(1, 0), False, Action.WAIT, Counts(0, 0)),  # the step still runs: not counted
        (INCONCLUSIVE, Counts(0, 0), True, Action.WAIT, Counts(0, 1)),
        (INCONCLUSIVE, Counts(0, 1), True, Action.ABORT, Counts(0, 2)),
    ],
)
def test_decide(outcome, counts, step_done, action, after):
    decision = decide(V[outcome], counts, LIMITS, step_done)
    assert (decision.action, decision.counts) == (action, after), decision.reason


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda _q: (200, "this is not json"), "with no JSON"),
        (lambda _q: (400, {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}), "refused the query (HTTP 400): parse error"),
        (lambda _q: (200, {"status": "success", "data": {"resultType": "matrix", "result": []}}), "unexpected shape"),
        (lambda _q: (200, {"status": "success", "data": {"resultType": "vector", "result": [{"value": ["x"]}]}}), "malformed sample"),
        (lambda _q: (200, {"status": "success", "data": {"resultType": "vector", "result": [vector(1)[1]["data"]["result"][0]] * 2}}), "returned 2 series"),
    ],
)
def test_malformed_answers_are_clear_errors(answer, message):
    """Answers a broken proxy or a wrong URL could give (no real Prometheus answers these)."""
    with FakePrometheus(answer) as fake, Prometheus(fake.url) as client, pytest.raises(PrometheusError, match=re.escape(message)):
        client.query("up")


@pytest.mark.prometheus
def test_a_real_prometheus_refuses_bad_promql(tmp_path, real_prometheus):
    with PrometheusServer(tmp_path) as server, Prometheus(server.url) as client, pytest.raises(PrometheusError, match="refused the query"):
        client.query("sum(rate(")


def test_unreachable_prometheus_is_a_clear_error():
    with Prometheus(closed_port_url(), timeout_seconds=2) as client, pytest.raises(PrometheusError, match="unreachable"):
        client.query("up")


def _project(tmp_path, stack: str = "test", **rollout):
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    document["config"]["rdagent:rollout"].update({"newVersion": "0.9.0", **rollout})
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return project


@pytest.fixture
def canary_project(tmp_path):
    return _project(tmp_path)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, real_prometheus):
    """A real Prometheus with the good canary in namespace rdagent and the quiet one in quiet."""
    counters = counters_for("gatewayApi", SCENARIOS["good"]) + counters_for("gatewayApi", SCENARIOS["quiet"], "quiet")
    with PrometheusServer(tmp_path_factory.mktemp("prom"), openmetrics=openmetrics(counters, time.time())) as server:
        yield server


@pytest.mark.prometheus
def test_status_prints_weights_and_the_analysis(canary_project, prometheus):
    result = run_cli("rollout", "status", "--stack", "test", "--prometheus", prometheus.url, cwd=canary_project)
    assert result.returncode == 0, result.stderr
    assert "route -> rdagent-ui-stable: 95%" in result.stdout and "route -> rdagent-ui-canary: 5%" in result.stdout
    assert "analysis pass: 300 request(s); success rate 99.95% (needs > 99%); p95 response time 48.75ms (needs < 200ms)" in result.stdout


@pytest.mark.prometheus
def test_advance_waits_for_the_step_duration(tmp_path, prometheus):
    project = _project(tmp_path, stepStartedAt=datetime.now(UTC).isoformat(timespec="seconds"))
    before = (project / "Pulumi.test.yaml").read_bytes()
    result = run_cli("rollout", "advance", "--stack", "test", "--prometheus", prometheus.url, cwd=project)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "decision: wait: the gates pass so far; the step has not run its duration" in result.stdout
    assert re.search(r"waiting: step 0 has about (2\d\d|300)s to run", result.stderr), result.stderr
    assert (project / "Pulumi.test.yaml").read_bytes() == before


@pytest.mark.prometheus
def test_a_quiet_canary_is_inconclusive_and_waits(tmp_path, prometheus):
    project = _project(tmp_path, stepStartedAt=datetime.now(UTC).isoformat(timespec="seconds"))
    document = yaml.safe_load((project / "Pulumi.test.yaml").read_text())
    document["config"]["rdagent:namespace"] = "quiet"
    (project / "Pulumi.test.yaml").write_text(yaml.safe_dump(document))
    before = (project / "Pulumi.test.yaml").read_bytes()
    result = run_cli("rollout", "advance", "--stack", "test", "--prometheus", prometheus.url, cwd=project)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "analysis inconclusive: 6 request(s) in the window, fewer than minRequests 50" in result.stdout
    assert "decision: wait: inconclusive while the step runs" in result.stdout
    assert (project / "Pulumi.test.yaml").read_bytes() == before


def test_advance_makes_no_change_when_prometheus_is_unreachable(canary_project):
    before = (canary_project / "Pulumi.test.yaml").read_bytes()
    result = run_cli("rollout", "advance", "--stack", "test", "--prometheus", closed_port_url(), cwd=canary_project)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "unreachable" in result.stderr and "no change made" in result.stderr
    assert "Traceback" not in result.stderr
    assert (canary_project / "Pulumi.test.yaml").read_bytes() == before


def test_advance_makes_no_change_on_a_malformed_answer(canary_project):
    before = (canary_project / "Pulumi.test.yaml").read_bytes()
    with FakePrometheus(lambda _q: (200, "<html>proxy error</html>")) as fake:
        result = run_cli("rollout", "advance", "--stack", "test", "--prometheus", fake.url, cwd=canary_project)
    assert result.returncode == 3 and "no JSON" in result.stderr
    assert (canary_project / "Pulumi.test.yaml").read_bytes() == before


def test_step_durations_and_time_left():
    from rdagent_infra.rollouts import start, step_duration, time_left

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    config, plan = canary(1)
    assert step_duration(config, plan) == timedelta(minutes=15)
    started = config.model_copy(update={"rollout": config.rollout.model_copy(update={"stepStartedAt": now - timedelta(minutes=10)})})
    assert time_left(started, now) == timedelta(minutes=5)
    assert time_left(started, now + timedelta(minutes=6)) is None
    assert time_left(config, now) is None  # unknown start
    scaled = started.model_copy(update={"rollout": started.rollout.model_copy(update={"durationScale": 0.01})})
    assert step_duration(scaled, plan) == timedelta(seconds=9)
    blue_green = load_stack_config({**BASE, "rollout": {"strategy": "blueGreen", "stableVersion": "1.0.0", "newVersion": "1.1.0", "step": 6}}, "dev", "x")
    assert step_duration(blue_green, plan_rollout(blue_green.rollout, 1)) == timedelta(minutes=60)  # scaleDownDelayMinutes
    with pytest.raises(RolloutError, match="under way"):
        start(config, "1.2.0", now)
    at_rest = load_stack_config({**BASE, "rollout": {"strategy": "canary", "stableVersion": "1.0.0", "failedAnalyses": 1}}, "dev", "x")
    move = start(at_rest, "1.2.0", now)
    assert move.changes == {"newVersion": "1.2.0", "step": "0", "stepStartedAt": "2026-11-25T12:00:00+00:00", "failedAnalyses": None}


def test_promotion_and_abortion_moves():
    from rdagent_infra.rollouts import abortion, promotion

    config, _ = canary(1)
    assert promotion(config).changes == {"stableVersion": "1.1.0", "newVersion": None, "step": "0", "stepStartedAt": None}
    assert abortion(config).changes == {"newVersion": None, "step": "0", "stepStartedAt": None}
    assert "all traffic back to 1.0.0" in abortion(config).summary
    blue_green = load_stack_config({**BASE, "rollout": {"strategy": "blueGreen", "stableVersion": "1.0.0", "newVersion": "1.1.0", "step": 6}}, "dev", "x")
    assert promotion(blue_green).changes["blueGreen.activeColor"] == "green"
    at_rest = load_stack_config({**BASE, "rollout": {"strategy": "canary", "stableVersion": "1.0.0"}}, "dev", "x")
    for move in (promotion, abortion):
        with pytest.raises(RolloutError, match="no rollout is under way"):
            move(at_rest)


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "PULUMI_BACKEND_URL"),
        ({"PULUMI_BACKEND_URL": "s3://team-state/rdagent"}, "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or a secrets provider"),
    ],
)
def test_no_local_fallback_beyond_dev_and_test(tmp_path, environ, missing):
    with pytest.raises(UnsafeEngineSettings, match=re.escape(missing)):
        engine_environment("staging", tmp_path, "staging", environ)
    env = engine_environment("test", tmp_path, "test", {})
    assert env["PULUMI_BACKEND_URL"].startswith("file://") and env["PULUMI_CONFIG_PASSPHRASE"] == "rdagent-local"
    (tmp_path / "Pulumi.prod.yaml").write_text("secretsprovider: awskms://alias/rdagent\nconfig: {}\n")
    assert engine_environment("prod", tmp_path, "prod", {"PULUMI_BACKEND_URL": "s3://team-state/rdagent"})["PULUMI_BACKEND_URL"] == "s3://team-state/rdagent"


def test_abort_on_staging_refuses_the_local_fallback_and_writes_nothing(tmp_path):
    import os
    import subprocess
    import sys

    project = _project(tmp_path, stack="staging", newVersion="1.5.0")
    before = (project / "Pulumi.staging.yaml").read_bytes()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    result = subprocess.run(
        [sys.executable, "-m", "rdagent_infra.cli", "rollout", "abort", "--stack", "staging"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "refusing to move the staging stack staging on a local fallback: set PULUMI_BACKEND_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "Pulumi.staging.yaml").read_bytes() == before


@pytest.mark.parametrize(
    ("environ", "status", "message"),
    [
        ({}, 2, "refusing the staging stack staging on a local fallback: set PULUMI_BACKEND_URL"),
        ({"PULUMI_BACKEND_URL": "s3://team-state/rdagent"}, 2, "set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or a secrets provider"),
    ],
)
def test_scripts_pulumi_refuses_the_local_fallback_beyond_dev_and_test(tmp_path, environ, status, message):
    import os
    import subprocess

    project = _project(tmp_path, stack="staging", newVersion="1.5.0")
    env = {**{key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}, **environ}
    result = subprocess.run(
        [str(ROOT / "scripts" / "pulumi"), "preview", "--stack", "staging"], cwd=project, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == status and message in result.stderr, result.stderr
