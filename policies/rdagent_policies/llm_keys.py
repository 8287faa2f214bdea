"""LLM provider keys stay in the LLM gateway: a workload other than the gateway gets no provider key,
neither by a provider key variable (set from anything but the gateway key's Secret) nor by a
reference to the Secret of provider keys.

The gateway's pods are told apart by their pod template's `app.kubernetes.io/component` label
(`gatewayComponent`); the gateway key's Secret and the provider keys' Secrets are named in the
policy's config. A key mounted as a file from a Secret volume counts too.
"""

from __future__ import annotations

from typing import Any

from rdagent_policies.workloads import Container, PodSpec

COMPONENT_LABEL = "app.kubernetes.io/component"
# The variables LLM clients (LiteLLM, OpenAI's, Anthropic's SDKs) read a provider key from.
PROVIDER_KEY_VARIABLES = frozenset(
    {
        "OPENAI_API_KEY",
        "AZURE_API_KEY",
        "AZURE_OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "DEEPSEEK_API_KEY",
        "GEMINI_API_KEY",
        "MISTRAL_API_KEY",
        "COHERE_API_KEY",
        "GROQ_API_KEY",
        "TOGETHERAI_API_KEY",
        "OPENROUTER_API_KEY",
    }
)
CONFIG_SCHEMA: dict[str, dict[str, Any]] = {
    "gatewayComponent": {"type": "string", "default": "llm-gateway", "description": "The app.kubernetes.io/component label of the gateway's pods."},
    "gatewayKeySecret": {"type": "string", "default": "rdagent-llm-gateway-key", "description": "The Secret of the gateway key other pods send."},
    "providerKeySecrets": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["rdagent-llm-providers", "rdagent-secrets-manager"],
        "description": "Secrets that hold provider keys (the gateway's own, and the one the Secrets Store CSI driver syncs).",
    },
}


def _env_problems(container: Container, gateway_key_secret: str, provider_secrets: set[str]) -> list[str]:
    found = []
    for index, item in enumerate(container.spec.get("env") or []):
        if not isinstance(item, dict):
            continue
        name = str(item.get("name", ""))
        ref = ((item.get("valueFrom") or {}).get("secretKeyRef")) or {}
        where = f"{container.where()}.env[{index}] {name}"
        if ref.get("name") in provider_secrets:
            found.append(f"{where} reads the Secret {ref['name']!r}, which holds LLM provider keys: only the LLM gateway may")
        elif name in PROVIDER_KEY_VARIABLES and ref.get("name") != gateway_key_secret:
            source = f"the Secret {ref['name']!r}" if ref else "a literal value" if "value" in item else "something other than a Secret"
            found.append(f"{where} gets an LLM provider key from {source}: send to the LLM gateway with its key (Secret {gateway_key_secret!r}) instead")
    for index, source in enumerate(container.spec.get("envFrom") or []):
        secret = ((source or {}).get("secretRef") or {}).get("name")
        if secret in provider_secrets:
            found.append(
                f"{container.where()}.envFrom[{index}] takes every key of the Secret {secret!r}, which holds LLM provider keys: only the LLM gateway may"
            )
    return found


def provider_keys_in_gateway_only(
    pod: PodSpec,
    gatewayComponent: str = "llm-gateway",  # noqa: N803 (the config keys)
    gatewayKeySecret: str = "rdagent-llm-gateway-key",  # noqa: N803
    providerKeySecrets: list[str] | None = None,  # noqa: N803
) -> list[str]:
    if (pod.metadata.get("labels") or {}).get(COMPONENT_LABEL) == gatewayComponent:
        return []
    provider_secrets = set(CONFIG_SCHEMA["providerKeySecrets"]["default"] if providerKeySecrets is None else providerKeySecrets)
    found = []
    for container in pod.containers():
        found += _env_problems(container, gatewayKeySecret, provider_secrets)
    for index, volume in enumerate(pod.spec.get("volumes") or []):
        secret = ((volume or {}).get("secret") or {}).get("secretName")
        if secret in provider_secrets:
            found.append(f"{pod.path}.volumes[{index}] mounts the Secret {secret!r}, which holds LLM provider keys: only the LLM gateway may")
    return found
