"""CPU, memory and GPU requests and limits, as every workload section writes them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator
from rdagent_policies.quantities import parse_quantity

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import Model, Quantity, path_error


class ResourceAmounts(Model):
    cpu: Quantity
    memory: Quantity
    gpu: Annotated[int, Field(ge=0, le=16)] = 0


class Resources(Model):
    requests: ResourceAmounts = ResourceAmounts(cpu=seed.REQUEST_CPU, memory=seed.REQUEST_MEMORY)
    limits: ResourceAmounts = ResourceAmounts(cpu=seed.LIMIT_CPU, memory=seed.LIMIT_MEMORY)

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        for field in ("cpu", "memory"):
            request = getattr(self.requests, field)
            limit = getattr(self.limits, field)
            if parse_quantity(request) > parse_quantity(limit):
                raise path_error(
                    ["requests", field],
                    f"request {request} is above the limit {limit} (limits.{field})",
                )
        if self.requests.gpu != self.limits.gpu:
            raise path_error(
                ["limits", "gpu"],
                f"must equal requests.gpu ({self.requests.gpu}), got {self.limits.gpu}: Kubernetes "
                "requires requests and limits of extended resources such as nvidia.com/gpu to be equal",
            )
        return self

    @property
    def gpus(self) -> int:
        return self.limits.gpu


def gpu_resources(gpus: int) -> Resources:
    """The seed's run resources with `gpus` GPUs requested and limited alike."""
    return Resources(
        requests=ResourceAmounts(cpu=seed.REQUEST_CPU, memory=seed.REQUEST_MEMORY, gpu=gpus),
        limits=ResourceAmounts(cpu=seed.LIMIT_CPU, memory=seed.LIMIT_MEMORY, gpu=gpus),
    )
