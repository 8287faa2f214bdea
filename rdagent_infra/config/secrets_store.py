"""`rdagent:secretsStore`: LLM API keys kept in AWS Secrets Manager instead of the stack file.

Each key named here is fetched, when a pod starts, by the Secrets Store CSI driver and the AWS
provider (ASCP), under the pod's own IAM role for its service account; it never passes through
Pulumi's state. Values are the secrets' full ARNs, as `aws secretsmanager describe-secret` prints
them (the six characters after the last `-` are part of the ARN and make the IAM grant exact).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from rdagent_infra.config.base import Model, path_error

# arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX (the suffix Secrets Manager appends).
SECRET_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:secretsmanager:([a-z]{2}(-gov)?-[a-z]+-\d):(\d{12}):secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$")
KMS_KEY_ARN = r"^arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:key/[0-9a-f-]{36}$"


def _secret_arn(value: str) -> str:
    if not SECRET_ARN.match(value):
        raise PydanticCustomError(
            "secret_arn",
            "must be a Secrets Manager secret's full ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, the 6-character "
            "suffix included (aws secretsmanager describe-secret --secret-id NAME --query ARN), got {value!r}",
            {"value": value},
        )
    return value


SecretArn = Annotated[str, AfterValidator(_secret_arn)]


class AwsSecretsManagerKeys(Model):
    """Which LLM API key comes from which secret (the secret's value is the key itself, as plain text)."""

    openaiApiKey: SecretArn | None = None
    azureOpenaiApiKey: SecretArn | None = None
    deepseekApiKey: SecretArn | None = None
    anthropicApiKey: SecretArn | None = None


class SecretsStoreConfig(Model):
    provider: Literal["awsSecretsManager"] = "awsSecretsManager"
    secrets: AwsSecretsManagerKeys = AwsSecretsManagerKeys()
    # The customer managed KMS key that encrypts those secrets, if not Secrets Manager's AWS managed key:
    # the pods' roles may then decrypt with it, through Secrets Manager only.
    kmsKeyArn: Annotated[str, Field(pattern=KMS_KEY_ARN)] | None = None
    # How often the driver fetches the secrets again for pods still running (ASCP recommends an hour:
    # every fetch is a billed call). New pods always start with the current value.
    rotationPollSeconds: Annotated[int, Field(ge=60, le=86400)] = 3600

    @model_validator(mode="after")
    def _regions(self) -> SecretsStoreConfig:
        regions = {SECRET_ARN.match(arn).group(2) for _, arn in self.arns()}
        if len(regions) > 1:
            raise path_error(["secrets"], f"the secrets are in several regions ({', '.join(sorted(regions))}): keep them in one, the stack's")
        return self

    def arns(self) -> list[tuple[str, str]]:
        """(stack secret field, ARN) of each key that comes from Secrets Manager."""
        return [(field, arn) for field, arn in self.secrets if arn is not None]

    @property
    def enabled(self) -> bool:
        return bool(self.arns())

    def region(self) -> str | None:
        arns = self.arns()
        return SECRET_ARN.match(arns[0][1]).group(2) if arns else None
