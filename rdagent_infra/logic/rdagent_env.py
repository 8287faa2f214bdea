"""The environment of RD-Agent's containers: only variables the pinned package (or our images) read.

Each variable is here because something reads it (tests/test_rdagent_reads.py checks that against
the installed package):
- BACKEND, CHAT_MODEL, EMBEDDING_MODEL, OPENAI_API_BASE: RD-Agent's LLMSettings; the API keys come
  from the Secret (OPENAI_API_KEY is LLMSettings', the other providers' keys are LiteLLM's).
- LOGURU_LEVEL: the level of loguru's console sink, which RD-Agent adds without a level of its own
  (so loguru takes it from this variable). The seed's LOG_LEVEL is read by nothing.
- LOG_TRACE_PATH (runs): RD-Agent's LogSettings.trace_path, where a run writes its trace. Each run
  pod writes one folder on the shared traces volume; the UI lists that volume's folders.
- UI_DEFAULT_LOG_FOLDERS (UI): where `rdagent ui --data-science` looks for traces (it ignores
  --log-dir); the default UI gets `--log-dir`.
- WORKSPACE_PATH (runs), PICKLE_CACHE_FOLDER_PATH_STR, PROMPT_CACHE_PATH: RDAgentSettings' workspace
  and pickle cache, LLMSettings' prompt cache: the workspace volume and the L3 disk cache volume.
- DS_CODER_COSTEER_ENV_TYPE, MODEL_COSTEER_ENV_TYPE: conda, never a Docker socket.
- OMP_NUM_THREADS: read by the OpenMP runtime the numeric libraries load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

TRACES_DIR = "/traces"
WORKSPACE_DIR = "/workspace"
# Read by Kubernetes only, to expand $(RDAGENT_POD_NAME) in LOG_TRACE_PATH: one trace folder a run pod.
POD_NAME_VAR = "RDAGENT_POD_NAME"
SECRET_NAME = "rdagent-secrets"

# Secret key in the Kubernetes Secret -> (environment variable, stack secret, who reads it).
LLM_SECRET_ENV = (
    ("openai-api-key", "OPENAI_API_KEY", "openaiApiKey"),
    ("azure-openai-api-key", "AZURE_OPENAI_API_KEY", "azureOpenaiApiKey"),
    ("deepseek-api-key", "DEEPSEEK_API_KEY", "deepseekApiKey"),
    ("anthropic-api-key", "ANTHROPIC_API_KEY", "anthropicApiKey"),
)
# What we set ourselves: `app.settings` may not set these (they are config keys or wiring).
MANAGED = frozenset(
    {
        "BACKEND",
        "CHAT_MODEL",
        "EMBEDDING_MODEL",
        "OPENAI_API_BASE",
        "LOG_TRACE_PATH",
        "UI_DEFAULT_LOG_FOLDERS",
        "WORKSPACE_PATH",
        "PICKLE_CACHE_FOLDER_PATH_STR",
        "PROMPT_CACHE_PATH",
        "DS_CODER_COSTEER_ENV_TYPE",
        "MODEL_COSTEER_ENV_TYPE",
        *(variable for _, variable, _ in LLM_SECRET_ENV),
    }
)


def _value(name: str, value: str) -> dict:
    return {"name": name, "value": value}


def common_env(
    *,
    backend: str,
    chat_model: str,
    embedding_model: str,
    openai_api_base: str | None,
    log_level: str,
    cache_path: str,
    omp_num_threads: int,
    secret_keys: list[tuple[str, str, str]],
    settings: Mapping[str, str],
) -> list[dict]:
    """What the UI and every run share. `secret_keys`: (Kubernetes Secret, key, variable) of the keys that are set."""
    env = [
        _value("BACKEND", backend),
        _value("CHAT_MODEL", chat_model),
        _value("EMBEDDING_MODEL", embedding_model),
        *([_value("OPENAI_API_BASE", openai_api_base)] if openai_api_base else []),
        *({"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}} for secret, key, variable in secret_keys),
        _value("LOGURU_LEVEL", log_level),
        _value("PICKLE_CACHE_FOLDER_PATH_STR", f"{cache_path}/pickle_cache"),
        _value("PROMPT_CACHE_PATH", f"{cache_path}/prompt_cache.db"),
        # RD-Agent runs its experiments in conda environments, never through a Docker socket.
        _value("DS_CODER_COSTEER_ENV_TYPE", "conda"),
        _value("MODEL_COSTEER_ENV_TYPE", "conda"),
        _value("OMP_NUM_THREADS", str(omp_num_threads)),
    ]
    return env + [_value(name, value) for name, value in sorted(settings.items())]


def run_env(common: list[dict]) -> list[dict]:
    """A run writes its trace to its own folder on the traces volume, named after its pod."""
    return [
        {"name": POD_NAME_VAR, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        *common,
        _value("LOG_TRACE_PATH", f"{TRACES_DIR}/$({POD_NAME_VAR})"),
        _value("WORKSPACE_PATH", f"{WORKSPACE_DIR}/RD-Agent_workspace"),
    ]


def ui_env(common: list[dict]) -> list[dict]:
    return [*common, _value("UI_DEFAULT_LOG_FOLDERS", json.dumps([TRACES_DIR]))]


def ui_args(port: int, *, data_science: bool, debug: bool) -> list[str]:
    """`rdagent ui`'s own options (rdagent.app.cli.ui): --port, --log-dir, --debug, --data-science."""
    args = ["--port", str(port)]
    if data_science:
        return [*args, "--data-science"]
    return [*args, "--log-dir", TRACES_DIR, *(["--debug"] if debug else [])]
