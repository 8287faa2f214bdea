"""`rdagent:app` and `rdagent:llm`: what RD-Agent itself is told (log level, debug, TLS path)
and which LLM backend, models and endpoints it uses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from rdagent_infra.config.base import Model


class AppConfig(Model):
    debug: bool = False
    logLevel: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    sslCertPath: str | None = None


class LlmConfig(Model):
    backend: Annotated[str, Field(min_length=1)] = "rdagent.oai.backend.LiteLLMAPIBackend"
    chatModel: Annotated[str, Field(min_length=1)] = "gpt-4o"
    embeddingModel: Annotated[str, Field(min_length=1)] = "text-embedding-3-small"
    openaiApiBase: str | None = None
    egressCidrs: Annotated[list[str], Field(min_length=1)] = ["0.0.0.0/0"]
