"""The data services: `rdagent:cache` (RD-Agent's three cache tiers) and `rdagent:redis`
(in the cluster, or ElastiCache on EKS)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import Model, Quantity
from rdagent_infra.config.resources import ResourceAmounts, Resources


class CacheTier(Model):
    size: Annotated[str, Field(pattern=r"^\d+(\.\d+)?\s*[KMGT]?i?B?$")]
    ttlSeconds: Annotated[int, Field(ge=1, le=365 * 86400)]


class DiskCacheTier(Model):
    path: Annotated[str, Field(pattern=r"^/")] = seed.L3_CACHE_PATH
    size: Quantity = seed.L3_CACHE_SIZE
    ttlSeconds: Annotated[int, Field(ge=1, le=365 * 86400)] = seed.L3_CACHE_TTL_SECONDS


class CacheConfig(Model):
    l1: CacheTier = CacheTier(size=seed.L1_CACHE_SIZE, ttlSeconds=seed.L1_CACHE_TTL_SECONDS)
    l2: CacheTier = CacheTier(size=seed.L2_CACHE_SIZE, ttlSeconds=seed.L2_CACHE_TTL_SECONDS)
    l3: DiskCacheTier = DiskCacheTier()


class ElastiCacheConfig(Model):
    nodeType: str = "cache.r7g.large"
    replicas: Annotated[int, Field(ge=1, le=5)] = 2


class RedisConfig(Model):
    mode: Literal["inCluster", "elasticache"] = "inCluster"
    image: str = "redis:7.4.2-alpine"
    maxmemory: Annotated[str, Field(pattern=r"^\d+(kb|mb|gb)$")] = "10gb"
    storageSize: Quantity = "20Gi"
    persistence: Literal["aof", "rdb"] = "aof"
    resources: Resources = Resources(
        requests=ResourceAmounts(cpu="250m", memory="1Gi"),
        limits=ResourceAmounts(cpu="1000m", memory="12Gi"),
    )
    elasticache: ElastiCacheConfig = ElastiCacheConfig()
