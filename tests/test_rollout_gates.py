"""Rollout gates over real HTTP against a fake Prometheus on loopback."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from rdagent_infra.config import SecretValue, load_stack_config
from rdagent_infra.logic.gates import gates_for
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.prometheus import Prometheus, PrometheusError
from tests.conftest import ROOT, run_cli
from tests.fake_prometheus import FakePrometheus, closed_port_url, metrics, vector

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
    config, plan = canary(1)
    (gate,) = gates_for(config, plan)
    assert (gate.name, gate.threshold, gate.above) == ("error rate", 0.1, False) and "[15m]" in gate.query


@pytest.mark.parametrize(
    ("answers", "passed"),
    [
        (metrics(success=99.5, latency_ms=150), {"success rate": True, "p95 response time": True}),
        (metrics(success=98.0, latency_ms=150), {"success rate": False, "p95 response time": True}),
        (metrics(success=99.9, latency_ms=450), {"success rate": True, "p95 response time": False}),
    ],
)
def test_gates_against_prometheus(answers, passed):
    config, plan = canary(0)
    with FakePrometheus(answers) as fake, Prometheus(fake.url) as client:
        results = client.evaluate(gates_for(config, plan))
    assert {result.gate.name: result.passed for result in results} == passed
    assert len(fake.queries) == 2


def test_no_data_fails_the_gate():
    config, plan = canary(1)
    empty = lambda _query: (200, {"status": "success", "data": {"resultType": "vector", "result": []}})  # noqa: E731
    with FakePrometheus(empty) as fake, Prometheus(fake.url) as client:
        (result,) = client.evaluate(gates_for(config, plan))
    assert not result.passed and "no data" in result.line()


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
    with FakePrometheus(answer) as fake, Prometheus(fake.url) as client, pytest.raises(PrometheusError, match=re.escape(message)):
        client.query("up")


def test_unreachable_prometheus_is_a_clear_error():
    with Prometheus(closed_port_url(), timeout_seconds=2) as client, pytest.raises(PrometheusError, match="unreachable"):
        client.query("up")


@pytest.fixture
def canary_project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / "Pulumi.test.yaml").read_text())
    document["config"]["rdagent:rollout"]["newVersion"] = "0.9.0"
    (project / "Pulumi.test.yaml").write_text(yaml.safe_dump(document))
    return project


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


def test_status_prints_weights_and_gates(canary_project):
    with FakePrometheus(metrics()) as fake:
        result = run_cli("rollout", "status", "--stack", "test", "--prometheus", fake.url, cwd=canary_project)
    assert result.returncode == 0, result.stderr
    assert "route -> rdagent-ui-stable: 95%" in result.stdout and "route -> rdagent-ui-canary: 5%" in result.stdout
    assert "gate pass: success rate 99.9%" in result.stdout


def test_step_durations_and_time_left():
    from datetime import UTC, datetime, timedelta

    from rdagent_infra.rollouts import RolloutError, start, step_duration, time_left

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    config, plan = canary(1)
    assert step_duration(config, plan) == timedelta(minutes=15)
    started = config.model_copy(update={"rollout": config.rollout.model_copy(update={"stepStartedAt": now - timedelta(minutes=10)})})
    assert time_left(started, now) == timedelta(minutes=5)
    assert time_left(started, now + timedelta(minutes=6)) is None
    assert time_left(config, now) is None  # unknown start
    blue_green = load_stack_config({**BASE, "rollout": {"strategy": "blueGreen", "stableVersion": "1.0.0", "newVersion": "1.1.0", "step": 6}}, "dev", "x")
    assert step_duration(blue_green, plan_rollout(blue_green.rollout, 1)) == timedelta(minutes=60)  # scaleDownDelayMinutes
    with pytest.raises(RolloutError, match="under way"):
        start(config, "1.2.0", now)
    at_rest = load_stack_config({**BASE, "rollout": {"strategy": "canary", "stableVersion": "1.0.0"}}, "dev", "x")
    move = start(at_rest, "1.2.0", now)
    assert move.changes == {"newVersion": "1.2.0", "step": "0", "stepStartedAt": "2026-11-25T12:00:00+00:00"}


def test_advance_waits_for_the_step_duration(canary_project):
    from datetime import UTC, datetime

    document = yaml.safe_load((canary_project / "Pulumi.test.yaml").read_text())
    document["config"]["rdagent:rollout"]["stepStartedAt"] = datetime.now(UTC).isoformat(timespec="seconds")
    (canary_project / "Pulumi.test.yaml").write_text(yaml.safe_dump(document))
    before = (canary_project / "Pulumi.test.yaml").read_bytes()
    with FakePrometheus(metrics()) as fake:
        result = run_cli("rollout", "advance", "--stack", "test", "--prometheus", fake.url, cwd=canary_project)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "the gates pass so far, but step 0 must run about 5 more minute(s)" in result.stderr
    assert (canary_project / "Pulumi.test.yaml").read_bytes() == before


def test_promotion_and_abortion_moves():
    from rdagent_infra.rollouts import RolloutError, abortion, promotion

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
