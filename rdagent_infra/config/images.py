"""`rdagent:images`: the registry, the version and the image of each variant; which tiers may
use `latest` or unpinned references."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from rdagent_policies.rules import image_tag_problem

from rdagent_infra.config.base import SEMVER, Model, Tier, path_error

# The image matrix (images/README.md): one Dockerfile per variant, images/<variant>.Dockerfile.
# RdAgentVariant: the images that run RD-Agent (the UI's, the runs'); llm-gateway runs the LLM gateway's
# LiteLLM proxy (components/llm_gateway.py).
RdAgentVariant = Literal["development", "testing", "production", "production-gpu", "kaggle-gpu", "kaggle", "qlib", "data-science"]
ImageVariant = Literal[RdAgentVariant, "llm-gateway"]
IMAGE_VARIANTS: tuple[str, ...] = (*get_args(RdAgentVariant), "llm-gateway")
GATEWAY_IMAGE_VARIANT = "llm-gateway"
# The variants built on a CUDA runtime, and the CUDA counterpart of those that are not: a run with
# GPUs whose scenario image has no CUDA runtime gets the counterpart instead.
CUDA_IMAGE_VARIANTS = frozenset({"production-gpu", "kaggle-gpu", "kaggle", "qlib", "data-science"})
GPU_IMAGE_VARIANTS: dict[str, str] = {"production": "production-gpu"}


class ImagesConfig(Model):
    registry: Annotated[str, Field(min_length=1)] = "localhost:5000/rdagent"
    ecr: bool = False
    # The ECR repositories' names are <repositoryPrefix>/<variant>; unset: rdagent-<tier>, so that
    # staging and prod in one account keep their own repositories (and lifecycles).
    repositoryPrefix: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")] | None = None
    build: bool = False
    version: Annotated[str, Field(min_length=1)] = "0.8.0"
    ui: RdAgentVariant = "production"
    references: dict[ImageVariant, Annotated[str, Field(min_length=1)]] = {}
    keepReleaseTags: Annotated[int, Field(ge=1, le=1000)] = 30
    untaggedExpiryDays: Annotated[int, Field(ge=1, le=3650)] = 7
    kmsEncryption: bool = True

    @field_validator("version")
    @classmethod
    def _version(cls, version: str, info: ValidationInfo) -> str:
        tier = (info.context or {}).get("tier")
        if version == "latest":
            if tier in (None, Tier.DEV):
                return version
            raise PydanticCustomError("latest", f"the tag latest is not allowed in {tier.value}: use a semantic version such as 1.2.3")
        if not SEMVER.match(version):
            raise PydanticCustomError("semver", f"must be a semantic version such as 1.2.3, got {version!r}")
        return version

    @field_validator("references")
    @classmethod
    def _pinned(cls, references: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        tier = (info.context or {}).get("tier")
        if tier in (None, Tier.DEV):
            return references
        for variant, reference in references.items():
            problem = image_tag_problem(reference)
            if problem:
                raise path_error([variant], f"{reference!r} {problem}: pin a version tag or a digest")
        return references
