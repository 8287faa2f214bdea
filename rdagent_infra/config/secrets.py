"""`rdagent:secrets`: values that must be set as Pulumi secrets, and which tiers require them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from rdagent_infra.config.base import Model, path_error


@dataclass(frozen=True)
class SecretValue:
    """A value that was set as a Pulumi secret. Its repr never shows the value."""

    value: str

    def __repr__(self) -> str:
        return "SecretValue([secret])"

    __str__ = __repr__


def _require_secret(value: Any) -> SecretValue:
    if isinstance(value, SecretValue):
        return value
    raise PydanticCustomError(
        "not_secret",
        "must be set as a secret (pulumi config set --secret), not as plain text",
    )


Secret = Annotated[SecretValue, PlainValidator(_require_secret)]

# What synth puts where a stack file holds a secret (it decrypts nothing): checks of a secret's value skip it.
PLACEHOLDER_PREFIX = "synth-placeholder:"


def is_placeholder(secret: SecretValue) -> bool:
    return secret.value.startswith(PLACEHOLDER_PREFIX)


LLM_KEY_SECRETS = ("openaiApiKey", "azureOpenaiApiKey", "deepseekApiKey", "anthropicApiKey")


class SecretsConfig(Model):
    redisPassword: Secret | None = None
    openaiApiKey: Secret | None = None
    azureOpenaiApiKey: Secret | None = None
    deepseekApiKey: Secret | None = None
    anthropicApiKey: Secret | None = None
    # The Kaggle API token data_science runs download a competition with (KAGGLE_API_TOKEN), when its
    # archive is not on the data volume.
    kaggleApiToken: Secret | None = None
    elasticPassword: Secret | None = None
    tlsCertificate: Secret | None = None
    tlsPrivateKey: Secret | None = None
    # oauth2-proxy's OIDC client secret and its cookie secret (workloads.ui.ingress.auth).
    oauth2ClientSecret: Secret | None = None
    oauth2CookieSecret: Secret | None = None

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, values: Any) -> Any:
        if isinstance(values, dict) and "databaseUrl" in values:
            raise path_error(
                ["databaseUrl"], "RD-Agent reads no database URL (its state is its trace folders and workspaces): remove rdagent:secrets.databaseUrl"
            )
        return values
