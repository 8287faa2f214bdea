"""The LLM gateway (issue 31): the real LiteLLM proxy (requirements-litellm.txt) started from the
LLM gateway Deployment the program renders for the test stack (its config file from its ConfigMap,
its keys from its Secrets, read-only root, its user) in the pod sandbox of tests/pod_sandbox.py,
with Debian's redis-server on the rendered password as its cache, in front of the OpenAI-compatible
stand-in of tests/llm_standin.py, all on the loopback of one network namespace.

What this shows is our side: the config file we render is one the proxy runs, answers and caches
with, and the key we generate is the one it asks for. The stand-in's answers say nothing of a real
provider's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.pod_sandbox import PodNetwork, Sandbox, http_status, running_gateway, wait_until
from tests.test_app import GATEWAY_KEY, sentinels, synth_for_app

pytestmark = pytest.mark.app
GATEWAY = "http://127.0.0.1:4000"

ASK = r"""
import json, sys, urllib.request, urllib.error
url, key, body = sys.argv[1], sys.argv[2], sys.argv[3]
headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        print(json.dumps({"status": response.status, "body": response.read().decode()}))
except urllib.error.HTTPError as error:
    print(json.dumps({"status": error.code, "body": error.read().decode()}))
"""


def ask(network: PodNetwork, path: str, key: str | None, body: dict) -> tuple[int, dict | str]:
    """A POST from inside the pod network, as a run's LiteLLM client sends it: (status, JSON body or text)."""
    result = network.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", ASK, GATEWAY + path, key or "", json.dumps(body)], capture_output=True, text=True, timeout=120
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    try:
        return answer["status"], json.loads(answer["body"])
    except json.JSONDecodeError:
        return answer["status"], answer["body"]


CHAT = {"model": "openai-placeholder", "messages": [{"role": "user", "content": "Name one linear model."}]}


def chat_body(model: str) -> dict:
    return {**CHAT, "model": model}


def cache_keys(redis) -> list[str]:
    """LiteLLM's response cache entries: bare 64-hex keys (its rate limiter keeps its counters in Redis too)."""
    return [key for key in redis.scan() if re.fullmatch(r"[0-9a-f]{64}", key)]


def asked(llm) -> list[dict]:
    """The completions and embeddings the provider was asked for."""
    return [r for r in llm.requests() if r["method"] == "POST"]


def standin_calls(llm, suffix: str) -> list[dict]:
    return [r for r in llm.requests() if r["path"].endswith(suffix)]


@pytest.fixture
def gateway_of(tmp_path, pod_network):
    """Starts the test stack's gateway, its config edited by `edit`: (network, stand-in, supplied, redis)."""
    network, llm = pod_network
    started = []

    def start(edit=None, objects_edit=None):
        objects, _ = synth_for_app("test", tmp_path / f"synth{len(started)}", edit)
        if objects_edit:
            objects_edit(objects)
        supplied = sentinels(objects)
        sandbox = Sandbox(objects, tmp_path / f"sandbox{len(started)}", network, supplied)
        context = running_gateway(sandbox, supplied, tmp_path / f"gateway{len(started)}")
        started.append(context)
        _, redis = context.__enter__()
        return network, llm, supplied, redis

    yield start
    for context in reversed(started):
        context.__exit__(None, None, None)


def test_the_rendered_gateway_answers_with_the_gateway_key_and_serves_a_repeat_from_redis(gateway_of):
    network, llm, supplied, redis = gateway_of()
    assert cache_keys(redis) == []
    first = ask(network, "/v1/chat/completions", GATEWAY_KEY, chat_body("gpt-4o"))
    assert first[0] == 200 and first[1]["choices"][0]["message"]["content"], first
    calls = standin_calls(llm, "/chat/completions")
    # The gateway sent the configured model with the provider key it alone holds.
    assert [(c["body"]["model"], c["authorization"]) for c in calls] == [("gpt-4o", f"Bearer {supplied[('rdagent-llm-providers', 'openai-api-key')]}")]
    cached = cache_keys(redis)
    assert len(cached) == 1, redis.scan()
    ttl = int(redis.command("TTL", cached[0])[0])
    assert 3500 < ttl <= 3600, f"the answer is cached for {ttl} s, not rdagent:cache.l2.ttlSeconds (3600)"

    second = ask(network, "/v1/chat/completions", GATEWAY_KEY, chat_body("gpt-4o"))
    assert second[0] == 200 and second[1]["choices"] == first[1]["choices"], second
    assert len(standin_calls(llm, "/chat/completions")) == 1, "the repeated request reached the provider: it was not served from Redis"

    embedding = {"model": "text-embedding-3-small", "input": ["a linear model"]}
    for _ in range(2):
        status, body = ask(network, "/v1/embeddings", GATEWAY_KEY, embedding)
        assert status == 200 and body["data"][0]["embedding"], body
    assert len(standin_calls(llm, "/embeddings")) == 1
    assert len(cache_keys(redis)) == 2


def test_without_the_cache_every_request_reaches_the_provider(gateway_of):
    """The negative control of the cache above: the same stack with llm.gateway.cache off."""
    network, llm, _, redis = gateway_of(lambda config: config.setdefault("rdagent:llm", {}).setdefault("gateway", {}).update(cache=False))
    for _ in range(2):
        assert ask(network, "/v1/chat/completions", GATEWAY_KEY, chat_body("gpt-4o"))[0] == 200
    assert len(standin_calls(llm, "/chat/completions")) == 2
    assert cache_keys(redis) == []


def test_the_gateway_refuses_a_request_without_its_key_and_one_for_an_unknown_model(gateway_of):
    """One gateway for three refusals (each a start of the proxy less): no key and a wrong key get a
    clean 401, an unknown model the proxy's own 400; nothing reaches the provider."""
    network, llm, supplied, _ = gateway_of()
    for key in (None, "sk-" + "w" * 64):
        status, body = ask(network, "/v1/chat/completions", key, chat_body("gpt-4o"))
        assert status == 401, (key, status, body)
        assert isinstance(body, dict) and body["error"]["type"] == "auth_error", body
        assert "Traceback" not in json.dumps(body)
        # Nor does the provider key leak into the refusal.
        assert supplied[("rdagent-llm-providers", "openai-api-key")] not in json.dumps(body)
    status, body = ask(network, "/v1/chat/completions", GATEWAY_KEY, chat_body("gpt-unknown-9"))
    assert status == 400, (status, body)
    assert "gpt-unknown-9" in body["error"]["message"], body
    # Nothing is asked of the provider (the proxy lists the provider's models as it starts: GETs).
    assert asked(llm) == []


def without_our_key_check(objects: list[dict]) -> None:
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "rdagent-llm-gateway"]
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert config["general_settings"].pop("custom_auth") == "gateway_auth.user_api_key_auth"
    config_map["data"]["config.yaml"] = yaml.safe_dump(config)


def test_without_our_key_check_the_proxy_answers_a_missing_key_with_a_500(gateway_of):
    """The negative control of the refusal above, and why the program ships its own key check:
    LiteLLM 1.108.0's own check, without a database, fails a request without a key with a 500."""
    network, llm, _, _ = gateway_of(objects_edit=without_our_key_check)
    assert ask(network, "/v1/chat/completions", None, chat_body("gpt-4o"))[0] == 500
    assert ask(network, "/v1/chat/completions", GATEWAY_KEY, chat_body("gpt-4o"))[0] == 200


# --- its metrics, on a real Prometheus ------------------------------------------------------------

PROMETHEUS_PORT = 9090  # in the test's own network namespace: always free

QUERY = r"""
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
print(json.dumps(json.load(urllib.request.urlopen(url, timeout=10))))
"""


class NamespacedPrometheus:
    """Debian's Prometheus in the pod network, scraping the gateway as the ServiceMonitor the program
    renders for operator-run Prometheus does: its `http` port, /metrics/, the gateway key as bearer
    token, the target's namespace as a label."""

    def __init__(self, network: PodNetwork, folder: Path, monitor: dict, namespace: str):
        from tests.prometheus_server import PROMETHEUS

        folder.mkdir(parents=True, exist_ok=True)
        self.network = network
        (endpoint,) = monitor["spec"]["endpoints"]
        job = {
            "job_name": "llm-gateway",
            "scrape_interval": "1s",
            "metrics_path": endpoint["path"],
            "authorization": {"type": endpoint["authorization"]["type"], "credentials": GATEWAY_KEY},
            "static_configs": [{"targets": ["127.0.0.1:4000"], "labels": {"namespace": namespace}}],
        }
        config = folder / "prometheus.yml"
        config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1s"}, "scrape_configs": [job]}))
        self.process = subprocess.Popen(
            [
                *network.prefix(),
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
            ],
            stdout=(folder / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: http_status(network, f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready") == 200, 60, "Prometheus ready")

    def query(self, expr: str) -> list[dict]:
        result = self.network.run(
            [str(ROOT / ".venv" / "bin" / "python"), "-c", QUERY, f"http://127.0.0.1:{PROMETHEUS_PORT}", expr], capture_output=True, text=True, timeout=30
        )
        body = json.loads(result.stdout)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def rendered(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def test_the_gateways_metrics_reach_prometheus_and_the_dashboards_gateway_panels_answer(tmp_path, pod_network):
    """The e2e stack (Prometheus Operator objects on): the gateway's ServiceMonitor as a real
    Prometheus's scrape, and the application dashboard's gateway panels as PromQL on what it scraped:
    requests, latency and cache hits of a repeated request."""
    network, _ = pod_network
    objects, _ = synth_for_app("e2e", tmp_path / "synth")
    supplied = sentinels(objects)
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, supplied)
    monitor = rendered(objects, "ServiceMonitor", "rdagent-llm-gateway")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= rendered(objects, "Service", "rdagent-llm-gateway")["metadata"]["labels"].items()
    board = json.loads(next(iter(rendered(objects, "ConfigMap", "rdagent-dashboard-application-metrics")["data"].values())))
    panels = {p["title"]: p["targets"][0]["expr"] for p in board["panels"] if p["title"].startswith("LLM gateway")}
    assert sorted(panels) == ["LLM gateway cache hits per second", "LLM gateway p95 latency (s)", "LLM gateway requests per second"], sorted(panels)
    with running_gateway(sandbox, supplied, tmp_path / "gateway"):
        assert http_status(network, f"{GATEWAY}/metrics/") == 401, "the gateway's metrics answer without its key"
        prometheus = NamespacedPrometheus(network, tmp_path / "prometheus", monitor, "rdagent-e2e")
        try:
            wait_until(lambda: prometheus.query('up{job="llm-gateway"} == 1'), 30, "the first scrape of the gateway")
            for _ in range(3):  # one answer from the provider, then two from Redis, each scraped
                assert ask(network, "/v1/chat/completions", GATEWAY_KEY, chat_body("gpt-4o"))[0] == 200
                time.sleep(2.5)
            answers = {title: prometheus.query(expr) for title, expr in panels.items()}
        finally:
            prometheus.close()
    assert all(answers.values()), answers
    assert float(answers["LLM gateway cache hits per second"][0]["value"][1]) > 0, answers
    assert float(answers["LLM gateway requests per second"][0]["value"][1]) > 0, answers
