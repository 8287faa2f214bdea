"""The building blocks every section of the stack configuration uses: the strict base model,
the tier, located errors and the common field types."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError
from rdagent_policies.quantities import QuantityError, parse_quantity

SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


class Tier(StrEnum):
    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PROD = "prod"

    @property
    def is_production_like(self) -> bool:
        return self in (Tier.STAGING, Tier.PROD)


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )


def path_error(subpath: list[str | int], message: str) -> PydanticCustomError:
    """An error located below the model that raises it (the formatter appends `subpath`)."""
    return PydanticCustomError("path_error", message, {"subpath": subpath})


def _quantity(value: Any) -> str:
    try:
        parse_quantity(value)
    except QuantityError as exc:
        raise PydanticCustomError("quantity", str(exc)) from None
    return str(value)


Quantity = Annotated[str, PlainValidator(_quantity)]
Port = Annotated[int, Field(ge=1, le=65535)]
DnsName = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
