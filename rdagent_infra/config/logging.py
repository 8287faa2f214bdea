"""`rdagent:logging`: the ELK stack (our StatefulSets or the Elastic operator's resources),
its version, Elasticsearch's size and snapshots, and how long logs are kept."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from rdagent_policies.rules import image_tag_problem

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import DnsName, Model, Quantity, path_error


class ElasticsearchConfig(Model):
    replicas: Annotated[int, Field(ge=1, le=9)] = 1
    heapMb: Annotated[int, Field(ge=256, le=31744)] = 1024
    storageSize: Quantity = "30Gi"
    snapshotRepository: str | None = None


class ShipperConfig(Model):
    """Fluent Bit on every node: our namespaces' container logs to Logstash."""

    enabled: bool = True
    image: Annotated[str, Field(min_length=1)] = seed.FLUENT_BIT_IMAGE
    namespace: DnsName = seed.LOG_SHIPPER_NAMESPACE

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str) -> str:
        problem = image_tag_problem(image)
        if problem:
            raise PydanticCustomError("pinned", f"{image!r} {problem}: pin a version tag or a digest")
        return image


class LoggingConfig(Model):
    enabled: bool = True
    # statefulSets: we run Elasticsearch, Logstash and Kibana; eck: custom resources for the Elastic operator.
    mode: Literal["statefulSets", "eck"] = "statefulSets"
    eckOperatorNamespace: str = "elastic-system"
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = "8.15.3"
    elasticsearch: ElasticsearchConfig = ElasticsearchConfig()
    retentionDays: Annotated[int, Field(ge=1, le=3650)] = 7
    shipper: ShipperConfig = ShipperConfig()

    @model_validator(mode="after")
    def _heap(self) -> LoggingConfig:
        if self.elasticsearch.replicas == 2:
            raise path_error(["elasticsearch", "replicas"], "use 1 or 3 or more: two master-eligible nodes cannot elect a master when one fails")
        return self
