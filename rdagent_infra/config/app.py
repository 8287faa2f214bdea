"""`rdagent:app` and `rdagent:llm`: what RD-Agent itself is told (log level, UI debug mode, further
settings by the names the package reads) and which LLM backend, models and endpoints it uses.

Only settings the pinned `rdagent` package reads are accepted: `app.settings` keys are checked
against the names derived from the package (rdagent_infra/logic/rdagent-reads.json)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from rdagent_infra.config.base import Model, path_error
from rdagent_infra.config.resources import ResourceAmounts, Resources
from rdagent_infra.logic import rdagent_reads
from rdagent_infra.logic.rdagent_env import MANAGED

# Keys the seed had that RD-Agent reads nothing for: each refused with what to do instead.
REMOVED_APP_KEYS = {
    "sslCertPath": "RD-Agent reads no SSL_CERT_PATH; the certificate (secrets.tlsCertificate/tlsPrivateKey) is served by the Ingress: remove app.sslCertPath",
}
SECRET_WORDS = ("KEY", "TOKEN", "PASSWORD", "SECRET")


def refuse_removed(values: Any, removed: dict[str, str]) -> Any:
    if isinstance(values, dict):
        for key, message in removed.items():
            if key in values:
                raise path_error([key], message)
    return values


class AppConfig(Model):
    # `rdagent ui --debug` (RD-Agent reads no DEBUG variable).
    debug: bool = False
    # loguru's level (LOGURU_LEVEL): RD-Agent's console sink takes loguru's default level.
    logLevel: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # Whether RD-Agent logs prompts and answers (LOG_LLM_CHAT_CONTENT): they reach stdout, the traces
    # and, through the log shipper, Elasticsearch. Off by default in prod (rdagent_infra.config.stack).
    logLlmChatContent: bool | None = None
    # Further RD-Agent settings, by the environment variable its settings classes read (e.g. CHAT_TEMPERATURE).
    settings: dict[str, str] = {}

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, values: Any) -> Any:
        return refuse_removed(values, REMOVED_APP_KEYS)

    @field_validator("settings")
    @classmethod
    def _known(cls, settings: dict[str, str]) -> dict[str, str]:
        for name in settings:
            if name not in rdagent_reads.SETTINGS:
                raise path_error([name], f"rdagent {rdagent_reads.RDAGENT_VERSION} reads no setting {name}: use a name its settings classes read (upper case)")
            if name in MANAGED:
                raise path_error([name], "set by the program from rdagent:llm, rdagent:secrets or rdagent:workloads: use those keys")
            if any(word in name for word in SECRET_WORDS):
                raise path_error([name], "looks like a secret: secrets go under rdagent:secrets, never in plain settings")
        return settings


class LlmGatewayConfig(Model):
    """One LiteLLM proxy per stack in front of the LLM providers (components/llm_gateway.py): it alone
    holds the provider keys; runs and the UI send to it with a gateway key the program generates."""

    # Off: every run holds the provider keys itself and sends to the providers directly.
    enabled: bool = True
    replicas: Annotated[int, Field(ge=1, le=20)] = 2
    # Identical requests answered from Redis (the L2 tier, for rdagent:cache.l2.ttlSeconds), not paid for again.
    cache: bool = True
    resources: Resources = Resources(
        requests=ResourceAmounts(cpu="250m", memory="512Mi"),
        limits=ResourceAmounts(cpu="1", memory="1Gi"),
    )


class LlmConfig(Model):
    backend: Annotated[str, Field(min_length=1)] = "rdagent.oai.backend.LiteLLMAPIBackend"
    chatModel: Annotated[str, Field(min_length=1)] = "gpt-4o"
    embeddingModel: Annotated[str, Field(min_length=1)] = "text-embedding-3-small"
    openaiApiBase: str | None = None
    # Azure OpenAI (models named `azure/<deployment>`): LiteLLM reads the endpoint and the API version
    # from AZURE_API_BASE and AZURE_API_VERSION, the key from secrets.azureOpenaiApiKey.
    azureApiBase: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    azureApiVersion: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$")] | None = None
    egressCidrs: Annotated[list[str], Field(min_length=1)] = ["0.0.0.0/0"]
    gateway: LlmGatewayConfig = LlmGatewayConfig()

    @model_validator(mode="after")
    def _azure(self) -> LlmConfig:
        uses_azure = [key for key, model in (("chatModel", self.chatModel), ("embeddingModel", self.embeddingModel)) if model.startswith("azure/")]
        if uses_azure:
            for key in ("azureApiBase", "azureApiVersion"):
                if getattr(self, key) is None:
                    raise path_error([key], f"required: {uses_azure[0]} {getattr(self, uses_azure[0])!r} is an Azure OpenAI deployment")
        elif self.azureApiBase is not None or self.azureApiVersion is not None:
            key = "azureApiBase" if self.azureApiBase is not None else "azureApiVersion"
            raise path_error([key], "set, but neither chatModel nor embeddingModel is an Azure deployment (azure/<deployment>)")
        return self
