"""The LLM gateway as every stack renders it (issue 31): no run or UI container holds a provider key
and each sends to the gateway's Service; the gateway's config file, network policy and pod; and the
pack rule that keeps provider keys in the gateway, with the gateway turned off as its negative
control. The gateway running is tests/test_llm_gateway.py."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import STACKS, run_cli
from tests.pod_sandbox import load_objects, pod_spec
from tests.test_app import synth_for_app

NAMESPACES = {"dev": "rdagent", "test": "rdagent", "e2e": "rdagent-e2e", "staging": "rdagent", "prod": "rdagent"}
PROVIDER_VARIABLES = {"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_API_KEY", "DEEPSEEK_API_KEY", "ANTHROPIC_API_KEY"}
GATEWAY_KEY_REF = {"name": "rdagent-llm-gateway-key", "key": "gateway-key"}


def rdagent_containers(objects: list[dict]) -> list[tuple[str, dict]]:
    """(object/container, container) of every container of the UI's Deployments and the runs."""
    found = []
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        if obj["kind"] in ("Deployment", "Job", "CronJob") and labels.get("app.kubernetes.io/name") in ("rdagent-ui", "rdagent-run"):
            spec = pod_spec(obj)
            found += [(f"{obj['metadata']['name']}/{c['name']}", c) for c in [*spec.get("initContainers", []), *spec["containers"]]]
    return found


def key_problems(objects: list[dict], namespace: str) -> list[str]:
    """What a run or UI container holds that it must not: a provider key, or an LLM endpoint other than the gateway."""
    found = []
    for where, container in rdagent_containers(objects):
        env = {e["name"]: e for e in container.get("env", [])}
        for name in PROVIDER_VARIABLES & set(env):
            ref = (env[name].get("valueFrom") or {}).get("secretKeyRef")
            if ref != GATEWAY_KEY_REF:
                found.append(f"{where}: {name} from {ref}")
        if container["name"] in ("rdagent", "ui"):
            base = (env.get("OPENAI_API_BASE") or {}).get("value")
            if base != "http://rdagent-llm-gateway:4000":
                found.append(f"{where}: OPENAI_API_BASE {base}")
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_no_run_or_ui_container_holds_a_provider_key_and_each_sends_to_the_gateway(synthesized, stack):
    objects = load_objects(synthesized(stack))
    containers = rdagent_containers(objects)
    assert "ui" in {c["name"] for _, c in containers}, [where for where, _ in containers]
    assert key_problems(objects, NAMESPACES[stack]) == []
    runs = [c for where, c in containers if c["name"] == "rdagent"]
    for container in runs:
        env = {e["name"]: e for e in container["env"]}
        assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == GATEWAY_KEY_REF
        assert env["CHAT_MODEL"]["value"] == "openai/gpt-4o" and env["EMBEDDING_MODEL"]["value"] == "openai/text-embedding-3-small"


def test_without_the_gateway_the_check_and_the_pack_find_the_keys_in_the_runs(tmp_path):
    """The negative control of the test above and of the pack rule: the test stack with
    llm.gateway.enabled false gives its runs the provider key, and both say so."""
    objects, _ = synth_for_app("test", tmp_path, lambda config: config["rdagent:llm"].update(gateway={"enabled": False}))
    problems = key_problems(objects, "rdagent")
    held = [p for p in problems if "OPENAI_API_KEY from" in p]
    assert held and all("'rdagent-secrets'" in p and "'openai-api-key'" in p for p in held), problems
    assert not [o for o in objects if o["metadata"]["name"].startswith("rdagent-llm-gateway")]
    result = run_cli("policy", "check", str(tmp_path / "out"))
    assert result.returncode == 1, result.stdout
    flagged = sorted({line.split(": ")[1] for line in result.stdout.splitlines() if "llm-provider-keys-in-gateway-only" in line})
    runs = sorted(
        f"{o['kind']}/{o['metadata']['name']}"
        for o in objects
        if o["kind"] in ("Job", "CronJob") and (o["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "rdagent-run"
    )
    assert runs and flagged == runs, (flagged, runs)


def gateway_config(objects: list[dict]) -> dict:
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "rdagent-llm-gateway"]
    return yaml.safe_load(config_map["data"]["config.yaml"])


def test_the_gateway_config_names_each_model_with_its_provider_key_and_redis_as_its_cache(synthesized):
    assert gateway_config(load_objects(synthesized("staging"))) == {
        "model_list": [
            {"model_name": "gpt-4o", "litellm_params": {"model": "gpt-4o", "api_key": "os.environ/OPENAI_API_KEY", "api_base": "https://api.openai.com/v1"}},
            {
                "model_name": "text-embedding-3-small",
                "litellm_params": {"model": "text-embedding-3-small", "api_key": "os.environ/OPENAI_API_KEY", "api_base": "https://api.openai.com/v1"},
            },
        ],
        "litellm_settings": {
            "cache": True,
            "cache_params": {
                "type": "redis",
                "host": "redis",
                "port": 6379,
                "password": "os.environ/REDIS_PASSWORD",
                "ttl": 3600,
            },
            "callbacks": ["prometheus"],  # staging has monitoring
        },
        "general_settings": {"master_key": "os.environ/LITELLM_MASTER_KEY", "custom_auth": "gateway_auth.user_api_key_auth"},
    }


def test_an_azure_deployment_gets_its_endpoint_version_and_the_azure_key(tmp_path):
    def azure(config):
        config["rdagent:llm"].update(chatModel="azure/rdagent-gpt-4o", azureApiBase="https://example-aoai.openai.azure.com", azureApiVersion="2024-10-21")
        config["rdagent:secrets"]["azureOpenaiApiKey"] = config["rdagent:secrets"]["openaiApiKey"]

    objects, _ = synth_for_app("test", tmp_path, azure)
    (chat, _) = gateway_config(objects)["model_list"]
    assert chat == {
        "model_name": "azure/rdagent-gpt-4o",
        "litellm_params": {
            "model": "azure/rdagent-gpt-4o",
            "api_key": "os.environ/AZURE_OPENAI_API_KEY",
            "api_base": "https://example-aoai.openai.azure.com",
            "api_version": "2024-10-21",
        },
    }
    (gateway,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "rdagent-llm-gateway"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in pod_spec(gateway)["containers"][0]["env"] if "valueFrom" in e}
    assert env["AZURE_OPENAI_API_KEY"] == {"name": "rdagent-llm-providers", "key": "azure-openai-api-key"}
    (run,) = [c for _, c in rdagent_containers(objects) if c["name"] == "rdagent"]
    run_env = {e["name"]: e.get("value") for e in run["env"]}
    assert run_env["CHAT_MODEL"] == "openai/azure/rdagent-gpt-4o" and "AZURE_API_BASE" not in run_env


def test_the_gateway_is_reached_by_our_pods_only_and_reaches_dns_redis_and_the_providers_only(synthesized):
    objects = load_objects(synthesized("prod"))
    (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "rdagent-llm-gateway"]
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "rdagent-llm-gateway", "app.kubernetes.io/component": "llm-gateway"}}
    assert spec["ingress"] == [
        {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "rdagent"}}}], "ports": [{"protocol": "TCP", "port": 4000}]},
        # prod has monitoring: Prometheus's pods scrape /metrics/ (behind the gateway key, like the API)
        {
            "from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
            "ports": [{"protocol": "TCP", "port": 4000}],
        },
    ]
    dns, redis, providers = spec["egress"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert redis["ports"] == [{"protocol": "TCP", "port": 6379}]
    assert providers == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    # The runs' egress reaches the gateway.
    (runs,) = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "rdagent-run-egress"]
    assert {
        "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rdagent-llm-gateway", "app.kubernetes.io/component": "llm-gateway"}}}],
        "ports": [{"protocol": "TCP", "port": 4000}],
    } in runs["spec"]["egress"]


def test_the_gateway_pod_is_hardened_like_every_workload_and_restarts_on_a_config_change(synthesized, tmp_path):
    objects = load_objects(synthesized("prod"))
    (gateway,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "rdagent-llm-gateway"]
    spec = pod_spec(gateway)
    (container,) = spec["containers"]
    assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == "rdagent-llm-gateway"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and spec["securityContext"]["runAsNonRoot"] is True
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/readiness", "port": "http"}
    assert gateway["spec"]["replicas"] == 2
    assert [o["kind"] for o in objects if o["metadata"]["name"] == "rdagent-llm-gateway" and o["kind"] == "PodDisruptionBudget"] == ["PodDisruptionBudget"]
    # Another TTL changes the config file, and the pod template's hash with it (both rendered alike otherwise).
    hash_of = lambda d: d["spec"]["template"]["metadata"]["annotations"]["rdagent.io/config-hash"]  # noqa: E731
    rendered = {}
    for ttl in (3600, 60):
        edited, _ = synth_for_app(
            "prod", tmp_path / str(ttl), lambda config, t=ttl: config.setdefault("rdagent:cache", {}).update(l2={"size": "10GB", "ttlSeconds": t})
        )
        (rendered[ttl],) = [o for o in edited if o["kind"] == "Deployment" and o["metadata"]["name"] == "rdagent-llm-gateway"]
        assert gateway_config(edited)["litellm_settings"]["cache_params"]["ttl"] == ttl
    assert hash_of(rendered[60]) != hash_of(rendered[3600])


def test_with_elasticache_the_gateway_caches_over_tls_with_the_auth_token_from_its_own_secret():
    """ElastiCache (transit encryption on, an auth token): the cache is reached over TLS at the
    replication group's endpoint, with the token from the gateway's own Secret (no Kubernetes Secret
    of Redis exists then); the gateway's egress reaches the VPC on Redis's port."""
    from tests.test_components import manifest, synth

    _, _, manifests = synth("prod", redis={"mode": "elasticache"})
    config = yaml.safe_load(manifest(manifests, "ConfigMap", "rdagent-llm-gateway")["data"]["config.yaml"])
    cache = config["litellm_settings"]["cache_params"]
    assert cache["ssl"] is True and cache["port"] == 6379 and cache["password"] == "os.environ/REDIS_PASSWORD"
    assert cache["host"] not in ("redis", "redis.rdagent.svc.cluster.local"), cache
    container = pod_spec(manifest(manifests, "Deployment", "rdagent-llm-gateway"))["containers"][0]
    (password,) = [e for e in container["env"] if e["name"] == "REDIS_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"] == {"name": "rdagent-llm-providers", "key": "redis-password"}
    assert "redis-password" in manifest(manifests, "Secret", "rdagent-llm-providers")["stringData"]
    assert not [m for m in manifests if m["kind"] == "Secret" and m["metadata"]["name"] == "redis-auth"]
    egress = manifest(manifests, "NetworkPolicy", "rdagent-llm-gateway")["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.50.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 6379}]} in egress  # prod's VPC
