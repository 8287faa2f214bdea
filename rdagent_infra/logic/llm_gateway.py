"""The LLM gateway: one LiteLLM proxy per stack in front of the LLM providers (issue 31).

What it changes for RD-Agent's pods:
- The gateway alone holds the provider keys (the Secret PROVIDER_SECRET, or the Secrets Manager
  volume). Runs hold the gateway key only, as OPENAI_API_KEY; the UI holds no key.
- Runs and the UI send to the gateway's Service (OPENAI_API_BASE). Their LiteLLM client asks for
  `openai/<model>`: an OpenAI-compatible request whatever the provider, with the configured model
  name, which the gateway's model list maps to the provider (Azure deployment, DeepSeek, ...).
- Identical requests are answered from Redis (LiteLLM's response cache, for rdagent:cache.l2's TTL)
  and not paid for again: Redis is the L2 tier of RD-Agent's caches.

The proxy's configuration file is rendered here from rdagent:llm; values that are secrets are
`os.environ/NAME` references LiteLLM resolves from the container's environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdagent_infra.logic.pods import container_security_context, http_probe, labels, pod_security_context, writable_volumes
from rdagent_infra.logic.rdagent_env import LLM_SECRET_ENV

APP = "rdagent-llm-gateway"
COMPONENT = "llm-gateway"
SERVICE = APP
ACCOUNT = APP
PORT = 4000
CONFIG_MAP = APP
CONFIG_DIR = "/opt/litellm"
CONFIG_FILE = "config.yaml"
# LiteLLM's key check made a clean 401 (gateway_files/gateway_auth.py), beside the config file.
AUTH_FILE = "gateway_auth.py"
AUTH_SOURCE = Path(__file__).with_name("gateway_files") / AUTH_FILE
# The gateway key (a generated Pulumi secret): what runs send, what the proxy accepts (its master key).
KEY_SECRET = "rdagent-llm-gateway-key"
KEY_SECRET_KEY = "gateway-key"
KEY_PREFIX = "sk-"  # LiteLLM accepts master keys that start with sk- only
# The provider keys and the Redis password: read by the gateway's pods only.
PROVIDER_SECRET = "rdagent-llm-providers"
REDIS_PASSWORD_KEY = "redis-password"
MASTER_KEY_VAR = "LITELLM_MASTER_KEY"
REDIS_PASSWORD_VAR = "REDIS_PASSWORD"
CLIENT_PREFIX = "openai/"
HEALTH_READY = "/health/readiness"
HEALTH_LIVE = "/health/liveliness"
# LiteLLM's Prometheus callback serves /metrics/ (/metrics redirects there), behind the gateway key.
METRICS_PATH = "/metrics/"
# Who scrapes it: Prometheus's pods, in whatever namespace they run (kube-prometheus-stack labels them so).
PROMETHEUS_PEER = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}


def service_monitor_spec() -> dict[str, Any]:
    """The gateway's scrape for an operator-run Prometheus: its Service's `http` port, with the
    gateway key (its Secret in the app namespace) as the bearer token."""
    return {
        "selector": {"matchLabels": {"app.kubernetes.io/name": APP, "app.kubernetes.io/component": COMPONENT}},
        "endpoints": [
            {
                "port": "http",
                "path": METRICS_PATH,
                "interval": "30s",
                "authorization": {"type": "Bearer", "credentials": {"name": KEY_SECRET, "key": KEY_SECRET_KEY}},
            }
        ],
    }


def dashboard_panels(namespace: str) -> list[tuple[str, str, str]]:
    """The application dashboard's gateway panels (title, expr, unit), from LiteLLM's own series."""
    match = f'namespace="{namespace}"'
    return [
        ("LLM gateway requests per second", f"sum(rate(litellm_proxy_total_requests_metric_total{{{match}}}[5m]))", "reqps"),
        ("LLM gateway p95 latency (s)", f"histogram_quantile(0.95, sum by (le) (rate(litellm_request_total_latency_metric_bucket{{{match}}}[5m])))", "s"),
        ("LLM gateway cache hits per second", f"sum(rate(litellm_cache_hits_metric_total{{{match}}}[5m]))", "reqps"),
    ]


# A model's provider (LiteLLM's prefix) -> the stack secret field of its key.
PROVIDER_KEY_FIELD = {"azure": "azureOpenaiApiKey", "deepseek": "deepseekApiKey", "anthropic": "anthropicApiKey"}
DEFAULT_KEY_FIELD = "openaiApiKey"


def service_url() -> str:
    """The OpenAI API base runs and the UI are given: the gateway's Service by its name, which the
    cluster's DNS resolves in the pod's own namespace (the gateway is in the app namespace too), so
    that the rendered objects do not depend on the namespace."""
    return f"http://{SERVICE}:{PORT}"


def client_model(model: str) -> str:
    """The model name RD-Agent's LiteLLM client asks for: OpenAI-compatible, sent to the gateway,
    which knows `model` by its configured name."""
    return model if model.startswith(CLIENT_PREFIX) else CLIENT_PREFIX + model


def key_field(model: str) -> str:
    """The stack secret field of the key `model`'s provider takes."""
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    return PROVIDER_KEY_FIELD.get(provider, DEFAULT_KEY_FIELD)


def key_variable(field: str) -> str:
    """The gateway container's environment variable of a stack secret field's key."""
    return next(variable for _, variable, name in LLM_SECRET_ENV if name == field)


def model_entry(model: str, *, keys: set[str], openai_api_base: str | None, azure: tuple[str, str] | None) -> dict[str, Any]:
    """One entry of the proxy's model list: `model` by its configured name, routed to its provider.
    `keys`: the stack secret fields whose keys the gateway has."""
    params: dict[str, Any] = {"model": model}
    field = key_field(model)
    if field in keys:
        params["api_key"] = f"os.environ/{key_variable(field)}"
    if model.startswith("azure/") and azure is not None:
        params["api_base"], params["api_version"] = azure
    elif field == DEFAULT_KEY_FIELD and openai_api_base:
        params["api_base"] = openai_api_base
    return {"model_name": model, "litellm_params": params}


def proxy_config(
    models: list[str],
    *,
    keys: set[str],
    openai_api_base: str | None,
    azure: tuple[str, str] | None,
    redis: tuple[str, int, bool] | None,
    cache_ttl_seconds: int,
    metrics: bool,
) -> dict[str, Any]:
    """The proxy's config file. `redis`: (host, port, TLS) of the response cache, or None for no
    cache; `metrics`: LiteLLM's Prometheus callback on /metrics."""
    settings: dict[str, Any] = {}
    if redis is not None:
        host, port, tls = redis
        cache: dict[str, Any] = {"type": "redis", "host": host, "port": port, "password": f"os.environ/{REDIS_PASSWORD_VAR}", "ttl": cache_ttl_seconds}
        if tls:
            cache["ssl"] = True
        settings.update(cache=True, cache_params=cache)
    if metrics:
        settings["callbacks"] = ["prometheus"]
    unique = list(dict.fromkeys(models))
    return {
        "model_list": [model_entry(model, keys=keys, openai_api_base=openai_api_base, azure=azure) for model in unique],
        "litellm_settings": settings,
        "general_settings": {"master_key": f"os.environ/{MASTER_KEY_VAR}", "custom_auth": f"{AUTH_FILE.removesuffix('.py')}.user_api_key_auth"},
    }


def _secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def container_env(provider_keys: list[tuple[str, str, str]], *, redis_password: tuple[str, str] | None) -> list[dict[str, Any]]:
    """The proxy's environment: its master key, each provider key as (Secret, key, variable), the
    Redis password as (Secret, key). LiteLLM reads its model cost map from the package (no fetch)."""
    env = [
        _secret_env(MASTER_KEY_VAR, KEY_SECRET, KEY_SECRET_KEY),
        *(_secret_env(variable, secret, key) for secret, key, variable in provider_keys),
        *([_secret_env(REDIS_PASSWORD_VAR, *redis_password)] if redis_password else []),
        {"name": "LITELLM_LOCAL_MODEL_COST_MAP", "value": "True"},
        # No telemetry, no update check: nothing calls home from a closed network.
        {"name": "LITELLM_TELEMETRY", "value": "False"},
    ]
    return env


def pod_template(
    *,
    image: Any,
    env: list[dict[str, Any]],
    resources: dict[str, Any],
    config_hash: str,
    extra_volumes: list[dict[str, Any]],
    extra_mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The proxy's pod: non-root, read-only root (it writes only /tmp and its home), no API token,
    the config file from its ConfigMap; restarted when the config file changes (`config_hash`)."""
    scratch_volumes, scratch_mounts = writable_volumes(("tmp", "/tmp"), ("home", "/home/rdagent"))
    return {
        "metadata": {"labels": labels(APP, COMPONENT), "annotations": {"rdagent.io/config-hash": config_hash}},
        "spec": {
            "serviceAccountName": ACCOUNT,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "containers": [
                {
                    "name": "litellm",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    # Arguments, not a command: the image's ENTRYPOINT (tini) stays PID 1.
                    "args": ["litellm", "--config", f"{CONFIG_DIR}/{CONFIG_FILE}", "--host", "0.0.0.0", "--port", str(PORT)],
                    "env": env,
                    "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                    "resources": resources,
                    "securityContext": container_security_context(),
                    "readinessProbe": http_probe(HEALTH_READY, "http", 5, 10),
                    "livenessProbe": http_probe(HEALTH_LIVE, "http", 30, 20),
                    "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True}, *scratch_mounts, *extra_mounts],
                }
            ],
            "volumes": [{"name": "config", "configMap": {"name": CONFIG_MAP}}, *scratch_volumes, *extra_volumes],
        },
    }
