"""The stack configuration: one pydantic model tree for every `rdagent:` key.

Validated once, at the edge (`load_stack_config`), then passed down as typed objects.
Keys are written in camelCase in the stack files, as Kubernetes and Pulumi write theirs;
numeric keys carry their unit in the name (`durationMinutes`, `latencyThresholdMs`).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from policies.quantities import QuantityError, parse_quantity
from policies.rules import image_tag_problem
from rdagent_infra import defaults as seed

NAMESPACE = "rdagent"


class Tier(StrEnum):
    DEV = "dev"
    TEST = "test"
    STAGING = "staging"
    PROD = "prod"

    @property
    def is_production_like(self) -> bool:
        return self in (Tier.STAGING, Tier.PROD)


# --- secrets -------------------------------------------------------------------------


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


# --- building blocks -----------------------------------------------------------------


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        arbitrary_types_allowed=True,
    )


def _path_error(subpath: list[str | int], message: str) -> PydanticCustomError:
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
                raise _path_error(
                    ["requests", field],
                    f"request {request} is above the limit {limit} (limits.{field})",
                )
        if self.requests.gpu != self.limits.gpu:
            raise _path_error(
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


# --- cluster and AWS -------------------------------------------------------------------


class EksConfig(Model):
    version: Annotated[str, Field(pattern=r"^1\.\d{2}$")] = "1.33"
    vpcCidr: str = "10.40.0.0/16"
    existingVpcId: str | None = None
    existingSubnetIds: list[str] = []
    endpointPublicAccess: bool = False
    endpointPrivateAccess: bool = True
    publicAccessCidrs: list[str] = []
    logTypes: list[Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]] = [
        "api",
        "audit",
        "authenticator",
    ]

    @model_validator(mode="after")
    def _vpc(self, info: ValidationInfo) -> EksConfig:
        if self.existingVpcId and len(self.existingSubnetIds) < 2:
            raise _path_error(["existingSubnetIds"], "an existing VPC needs at least two subnet IDs in two zones")
        if not self.endpointPublicAccess and not self.endpointPrivateAccess:
            raise _path_error(["endpointPrivateAccess"], "the API endpoint must be reachable: enable private or public access")
        for index, cidr in enumerate(self.publicAccessCidrs):
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise _path_error(["publicAccessCidrs", index], f"not a CIDR block ({exc})") from None
            if network.prefixlen == 0:
                raise _path_error(
                    ["publicAccessCidrs", index], f"{cidr} opens the API endpoint to the whole internet: list the CIDRs of your laptops and CI runners"
                )
        tier = (info.context or {}).get("tier")
        if self.endpointPublicAccess and not self.publicAccessCidrs and tier is not None and tier.is_production_like:
            raise _path_error(
                ["publicAccessCidrs"],
                f"required in {tier.value} when endpointPublicAccess is true (EKS would allow 0.0.0.0/0): list the CIDRs "
                "allowed to reach the API, or set endpointPublicAccess false and run pulumi from inside the VPC",
            )
        if not self.endpointPrivateAccess and self.endpointPublicAccess:
            raise _path_error(["endpointPrivateAccess"], "keep private access on: nodes reach the API through the VPC, not the internet")
        return self


class ClusterConfig(Model):
    mode: Literal["render", "kubeconfig", "eks"] = "render"
    renderDir: str = "build/dev"
    kubeconfigContext: str | None = None
    eks: EksConfig = EksConfig()

    @model_validator(mode="after")
    def _mode_settings(self) -> ClusterConfig:
        if self.mode == "kubeconfig" and not self.kubeconfigContext:
            raise _path_error(["kubeconfigContext"], "required when mode is kubeconfig")
        if self.mode == "render" and not self.renderDir:
            raise _path_error(["renderDir"], "required when mode is render")
        if self.mode == "eks" and not self.eks.endpointPublicAccess and not self.eks.existingVpcId:
            raise _path_error(
                ["eks", "endpointPublicAccess"],
                "a private-only API endpoint needs eks.existingVpcId: pulumi must then run inside that VPC, and a VPC "
                "this stack creates does not exist before pulumi up; or set true with eks.publicAccessCidrs",
            )
        return self


class AwsConfig(Model):
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")] = "us-east-1"
    # When set, the AWS provider refuses credentials of any other account.
    accountId: Annotated[str, Field(pattern=r"^\d{12}$")] | None = None


class NodePoolConfig(Model):
    instanceTypes: Annotated[list[str], Field(min_length=1)]
    diskSizeGb: Annotated[int, Field(ge=20, le=16384)] = 100
    minSize: Annotated[int, Field(ge=0, le=1000)] = 0
    desiredSize: Annotated[int, Field(ge=0, le=1000)] = 0
    maxSize: Annotated[int, Field(ge=1, le=1000)] = 2
    spot: bool = False
    labels: dict[str, str] = {}

    @model_validator(mode="after")
    def _sizes(self) -> NodePoolConfig:
        if not self.minSize <= self.desiredSize <= self.maxSize:
            raise _path_error(
                ["desiredSize"],
                f"must lie between minSize ({self.minSize}) and maxSize ({self.maxSize}), got {self.desiredSize}",
            )
        return self


class GpuConfig(Model):
    enabled: bool = False
    amiType: Literal["AL2023_x86_64_NVIDIA", "AL2_x86_64_GPU", "BOTTLEROCKET_x86_64_NVIDIA"] = "AL2023_x86_64_NVIDIA"
    pool: NodePoolConfig = NodePoolConfig(instanceTypes=["g5.2xlarge"], diskSizeGb=200, maxSize=4)
    cpuPool: NodePoolConfig = NodePoolConfig(instanceTypes=["m6i.2xlarge"], minSize=2, desiredSize=2, maxSize=6)
    devicePluginImage: str = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
    # Karpenter scales the GPU pool from zero; this caps the GPUs its NodePool runs at once.
    maxGpus: Annotated[int, Field(ge=1, le=1024)] = 8
    # The AMI release Karpenter launches for amiType (an EC2NodeClass alias such as al2023@v20250920); the
    # family's NVIDIA variant is chosen for GPU instance types.
    amiVersion: Annotated[str, Field(pattern=r"^(latest|v\d{8})$")] = "latest"


# --- images ------------------------------------------------------------------------------

IMAGE_VARIANTS = ("development", "testing", "production", "kaggle-gpu", "kaggle", "qlib", "data-science")
ImageVariant = Literal["development", "testing", "production", "kaggle-gpu", "kaggle", "qlib", "data-science"]
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


class ImagesConfig(Model):
    registry: Annotated[str, Field(min_length=1)] = "localhost:5000/rdagent"
    ecr: bool = False
    build: bool = False
    version: Annotated[str, Field(min_length=1)] = "0.8.0"
    ui: ImageVariant = "production"
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
        if not _SEMVER.match(version):
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
                raise _path_error([variant], f"{reference!r} {problem}: pin a version tag or a digest")
        return references


# --- the application -----------------------------------------------------------------------


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


LLM_KEY_SECRETS = ("openaiApiKey", "azureOpenaiApiKey", "deepseekApiKey", "anthropicApiKey")


class SecretsConfig(Model):
    databaseUrl: Secret | None = None
    redisPassword: Secret | None = None
    openaiApiKey: Secret | None = None
    azureOpenaiApiKey: Secret | None = None
    deepseekApiKey: Secret | None = None
    anthropicApiKey: Secret | None = None
    elasticPassword: Secret | None = None
    tlsCertificate: Secret | None = None
    tlsPrivateKey: Secret | None = None

    @model_validator(mode="after")
    def _required(self, info: ValidationInfo) -> SecretsConfig:
        tier = (info.context or {}).get("tier")
        if tier is not None and tier.is_production_like:
            if self.databaseUrl is None:
                raise _path_error(["databaseUrl"], f"required in {tier.value}: set it with pulumi config set --secret")
            if not any(getattr(self, key) is not None for key in LLM_KEY_SECRETS):
                raise _path_error(["openaiApiKey"], f"{tier.value} needs at least one LLM API key ({', '.join(LLM_KEY_SECRETS)})")
        return self


class ProbeConfig(Model):
    path: Annotated[str, Field(pattern=r"^/")] = seed.UI_HEALTH_PATH
    initialDelaySeconds: Annotated[int, Field(ge=0, le=3600)] = seed.PROBE_INITIAL_DELAY_SECONDS
    periodSeconds: Annotated[int, Field(ge=1, le=3600)] = seed.PROBE_PERIOD_SECONDS


class AutoscalingConfig(Model):
    maxReplicas: Annotated[int, Field(ge=1, le=100)] = 6
    targetCpuUtilizationPercent: Annotated[int, Field(ge=1, le=100)] = 70


class IngressConfig(Model):
    enabled: bool = False
    kind: Literal["gatewayApi", "ingress"] = "gatewayApi"
    host: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")] = "rdagent.example.com"
    gatewayName: str = "shared-gateway"
    gatewayNamespace: str = "gateway-system"
    # With Gateway API, TLS terminates on the Gateway: the route attaches to this listener when tls is on.
    gatewayListener: str = "https"
    ingressClassName: str = "nginx"
    tls: bool = True


class UiConfig(Model):
    replicas: Annotated[int, Field(ge=1, le=100)] = 1
    port: Port = seed.UI_PORT
    probe: ProbeConfig = ProbeConfig()
    resources: Resources = Resources()
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    ingress: IngressConfig = IngressConfig()

    @model_validator(mode="after")
    def _ha(self, info: ValidationInfo) -> UiConfig:
        tier = (info.context or {}).get("tier")
        if tier == Tier.PROD and self.replicas < 2:
            raise _path_error(["replicas"], f"must be >= 2 in prod for high availability, got {self.replicas}")
        if self.resources.gpus:
            raise _path_error(["resources", "limits", "gpu"], "the UI serves pages and needs no GPU: set 0")
        if self.autoscaling.maxReplicas < self.replicas:
            raise _path_error(["autoscaling", "maxReplicas"], f"must be >= replicas ({self.replicas}), got {self.autoscaling.maxReplicas}")
        return self


Scenario = Literal["data_science", "fin_factor", "fin_model", "fin_quant", "general_model", "kaggle"]

# The image each scenario runs in when a run names none.
SCENARIO_IMAGES: dict[str, str] = {
    "data_science": "data-science",
    "kaggle": "kaggle",
    "fin_factor": "qlib",
    "fin_model": "qlib",
    "fin_quant": "qlib",
    "general_model": "production",
}
_CRON = re.compile(r"^(@(yearly|annually|monthly|weekly|daily|hourly)|(\S+\s+){4}\S+)$")


class RunConfig(Model):
    name: DnsName
    scenario: Scenario
    competition: str | None = None
    args: list[str] = []
    schedule: str | None = None
    image: ImageVariant | None = None
    resources: Resources = gpu_resources(seed.GPUS_PER_RUN)
    deadlineSeconds: Annotated[int, Field(ge=60, le=30 * 86400)] = 86400
    backoffLimit: Annotated[int, Field(ge=0, le=10)] = 1
    ttlSecondsAfterFinished: Annotated[int, Field(ge=0, le=30 * 86400)] = 86400
    workspaceSize: Quantity = "50Gi"

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str | None) -> str | None:
        if schedule is not None and not _CRON.match(schedule.strip()):
            raise PydanticCustomError("cron", f"must be a cron schedule such as '0 2 * * *', got {schedule!r}")
        return schedule

    @model_validator(mode="after")
    def _competition(self) -> RunConfig:
        if self.scenario in ("data_science", "kaggle") and not self.competition:
            raise _path_error(["competition"], f"required for the {self.scenario} scenario")
        return self

    @property
    def image_variant(self) -> str:
        return self.image or SCENARIO_IMAGES[self.scenario]


class WorkloadsConfig(Model):
    ui: UiConfig = UiConfig()
    runs: list[RunConfig] = []
    ompNumThreads: Annotated[int, Field(ge=1, le=256)] = seed.OMP_NUM_THREADS

    @field_validator("runs")
    @classmethod
    def _unique(cls, runs: list[RunConfig]) -> list[RunConfig]:
        seen: set[str] = set()
        for index, run in enumerate(runs):
            if run.name in seen:
                raise _path_error([index, "name"], f"duplicate run name {run.name!r}")
            seen.add(run.name)
        return runs


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


# --- platform services -------------------------------------------------------------------


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


class ElasticsearchConfig(Model):
    replicas: Annotated[int, Field(ge=1, le=9)] = 1
    heapMb: Annotated[int, Field(ge=256, le=31744)] = 1024
    storageSize: Quantity = "30Gi"
    snapshotRepository: str | None = None


class LoggingConfig(Model):
    enabled: bool = True
    # statefulSets: we run Elasticsearch, Logstash and Kibana; eck: custom resources for the Elastic operator.
    mode: Literal["statefulSets", "eck"] = "statefulSets"
    eckOperatorNamespace: str = "elastic-system"
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = "8.15.3"
    elasticsearch: ElasticsearchConfig = ElasticsearchConfig()
    retentionDays: Annotated[int, Field(ge=1, le=3650)] = 7

    @model_validator(mode="after")
    def _heap(self) -> LoggingConfig:
        if self.elasticsearch.replicas == 2:
            raise _path_error(["elasticsearch", "replicas"], "use 1 or 3 or more: two master-eligible nodes cannot elect a master when one fails")
        return self


class AlertsConfig(Model):
    cpuPercent: Annotated[float, Field(gt=0, le=100)] = seed.ALERT_CPU_PERCENT
    cpuForMinutes: Annotated[int, Field(ge=1, le=1440)] = seed.ALERT_CPU_FOR_MINUTES
    memoryPercent: Annotated[float, Field(gt=0, le=100)] = seed.ALERT_MEMORY_PERCENT
    memoryForMinutes: Annotated[int, Field(ge=1, le=1440)] = seed.ALERT_MEMORY_FOR_MINUTES
    errorRatePercent: Annotated[float, Field(gt=0, le=100)] = seed.ALERT_ERROR_RATE_PERCENT
    errorRateForMinutes: Annotated[int, Field(ge=1, le=1440)] = seed.ALERT_ERROR_RATE_FOR_MINUTES


class MonitoringConfig(Model):
    enabled: bool = True
    prometheusOperator: bool = False
    prometheusUrl: Annotated[str, Field(pattern=r"^https?://")] = "http://prometheus-operated.monitoring:9090"
    alerts: AlertsConfig = AlertsConfig()


# --- rollouts ------------------------------------------------------------------------------


class CanaryStage(Model):
    weightPercent: Annotated[int, Field(ge=1, le=100)]
    durationMinutes: Annotated[int, Field(ge=0, le=7 * 1440)]
    successRatePercent: Annotated[float, Field(ge=0, le=100)] | None = None
    latencyThresholdMs: Annotated[int, Field(ge=1, le=600_000)] | None = None
    errorRatePercent: Annotated[float, Field(ge=0, le=100)] | None = None
    autoPromote: bool = False


class CanaryConfig(Model):
    stages: Annotated[list[CanaryStage], Field(min_length=1)] = [CanaryStage(**stage) for stage in seed.CANARY_STAGES]

    @field_validator("stages")
    @classmethod
    def _ascending(cls, stages: list[CanaryStage]) -> list[CanaryStage]:
        for index in range(1, len(stages)):
            if stages[index].weightPercent <= stages[index - 1].weightPercent:
                raise _path_error(
                    [index, "weightPercent"],
                    f"stage weights must rise strictly: {stages[index].weightPercent} follows {stages[index - 1].weightPercent}",
                )
        if stages[-1].weightPercent != 100:
            raise _path_error([len(stages) - 1, "weightPercent"], f"the last stage must send 100% of traffic, got {stages[-1].weightPercent}")
        return stages


class BlueGreenConfig(Model):
    activeColor: Literal["blue", "green"] = "blue"
    initialWeightPercent: Annotated[int, Field(ge=1, le=100)] = seed.BLUE_GREEN_INITIAL_WEIGHT_PERCENT
    incrementPercent: Annotated[int, Field(gt=0, le=100)] = seed.BLUE_GREEN_INCREMENT_PERCENT
    fullSwitchPercent: Annotated[int, Field(ge=1, le=100)] = seed.BLUE_GREEN_FULL_SWITCH_PERCENT
    scaleDownDelayMinutes: Annotated[int, Field(ge=0, le=7 * 1440)] = 60
    stepDurationMinutes: Annotated[int, Field(ge=0, le=7 * 1440)] = 5

    @model_validator(mode="after")
    def _threshold(self) -> BlueGreenConfig:
        if self.fullSwitchPercent < self.initialWeightPercent:
            raise _path_error(["fullSwitchPercent"], f"must be >= initialWeightPercent ({self.initialWeightPercent})")
        return self

    @property
    def weights(self) -> list[int]:
        """The seed's weighted switch: from the initial weight, +increment a step, 100 once >= the threshold.

        >>> BlueGreenConfig().weights
        [10, 30, 50, 70, 90, 100]
        """
        weights = []
        weight = self.initialWeightPercent
        while weight < min(self.fullSwitchPercent, 100):
            weights.append(weight)
            weight += self.incrementPercent
        return [*weights, 100]


class RolloutConfig(Model):
    strategy: Literal["rolling", "canary", "blueGreen"] = "rolling"
    trafficProvider: Literal["gatewayApi", "ingressNginx", "replicas"] = "gatewayApi"
    stableVersion: str | None = None
    newVersion: str | None = None
    step: Annotated[int, Field(ge=0, le=100)] = 0
    # Written by `rdagent-infra rollout` when it moves the rollout: when the current step began.
    stepStartedAt: AwareDatetime | None = None
    canary: CanaryConfig = CanaryConfig()
    blueGreen: BlueGreenConfig = BlueGreenConfig()

    @property
    def steps(self) -> list[int]:
        """The new version's share of traffic at each step of the strategy.

        Blue-green has one step after the full switch: the old colour scales to zero.
        """
        if self.strategy == "canary":
            return [stage.weightPercent for stage in self.canary.stages]
        if self.strategy == "blueGreen":
            return [*self.blueGreen.weights, 100]
        return [100]


# --- storage and cluster add-ons ------------------------------------------------------------

ClassName = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]


class EbsConfig(Model):
    volumeType: Literal["gp3", "io2"] = "gp3"
    # A customer-managed KMS key for the volumes; unset: the account's aws/ebs key. Volumes are always encrypted.
    kmsKeyId: str | None = None


class EfsConfig(Model):
    # Shared (ReadWriteMany) claims get an EFS file system; off: a claim that must be shared is refused.
    enabled: bool = True
    throughputMode: Literal["bursting", "elastic"] = "elastic"


class StorageConfig(Model):
    """Which StorageClass each claim names.

    In eks mode the program creates both classes (EBS for ReadWriteOnce, made the cluster default;
    EFS for ReadWriteMany) under these names. Otherwise they name classes the cluster already has;
    unset, claims use the cluster's default class.
    """

    blockClass: ClassName | None = None
    sharedClass: ClassName | None = None
    ebs: EbsConfig = EbsConfig()
    efs: EfsConfig = EfsConfig()


class HelmChartConfig(Model):
    repository: Annotated[str, Field(pattern=r"^(https://|oci://)")]
    chart: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(pattern=r"^v?\d+\.\d+\.\d+$")]
    namespace: DnsName


class EksAddonVersions(Model):
    """EKS add-on versions (`aws eks describe-addon-versions --kubernetes-version 1.33 --addon-name NAME`)."""

    vpcCni: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")] = seed.ADDON_VPC_CNI
    coreDns: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")] = seed.ADDON_COREDNS
    kubeProxy: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")] = seed.ADDON_KUBE_PROXY
    metricsServer: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")] = seed.ADDON_METRICS_SERVER
    ebsCsi: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")] = seed.ADDON_EBS_CSI
    efsCsi: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")] = seed.ADDON_EFS_CSI


class AddonsConfig(Model):
    """What the cluster must run for the stack to work. In eks mode the program installs each one at
    the pinned version; with an existing cluster (kubeconfig) preflight checks each one is there."""

    eks: EksAddonVersions = EksAddonVersions()
    # The VPC CNI enforces NetworkPolicy only when told to (its network policy agent).
    networkPolicy: bool = True
    karpenter: HelmChartConfig = HelmChartConfig(**seed.CHART_KARPENTER)
    envoyGateway: HelmChartConfig = HelmChartConfig(**seed.CHART_ENVOY_GATEWAY)
    kubePrometheusStack: HelmChartConfig = HelmChartConfig(**seed.CHART_KUBE_PROMETHEUS_STACK)
    gatewayClassName: DnsName = "envoy"


# --- the whole stack -------------------------------------------------------------------


class StackConfig(Model):
    tier: Tier
    namespace: DnsName = NAMESPACE
    protect: bool = False
    cluster: ClusterConfig = ClusterConfig()
    aws: AwsConfig = AwsConfig()
    gpu: GpuConfig = GpuConfig()
    images: ImagesConfig = ImagesConfig()
    app: AppConfig = AppConfig()
    llm: LlmConfig = LlmConfig()
    secrets: SecretsConfig = SecretsConfig()
    workloads: WorkloadsConfig = WorkloadsConfig()
    cache: CacheConfig = CacheConfig()
    redis: RedisConfig = RedisConfig()
    logging: LoggingConfig = LoggingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    rollout: RolloutConfig = RolloutConfig()
    storage: StorageConfig = StorageConfig()
    addons: AddonsConfig = AddonsConfig()

    @model_validator(mode="after")
    def _combinations(self) -> StackConfig:
        if self.secrets.redisPassword is None:
            raise _path_error(["secrets", "redisPassword"], "required: the Redis password (ElastiCache auth token); set it with pulumi config set --secret")
        if self.redis.mode == "elasticache" and self.cluster.mode != "eks":
            raise _path_error(["redis", "mode"], "elasticache needs cluster.mode eks (it lives in the cluster's VPC)")
        if (self.images.ecr or self.gpu.enabled) and self.cluster.mode != "eks":
            key = ["images", "ecr"] if self.images.ecr else ["gpu", "enabled"]
            raise _path_error(key, "needs cluster.mode eks: ECR repositories and node pools are created on AWS")
        if self.app.sslCertPath and (self.secrets.tlsCertificate is None or self.secrets.tlsPrivateKey is None):
            raise _path_error(["secrets", "tlsCertificate"], "required (with tlsPrivateKey) when app.sslCertPath is set")
        if self.logging.enabled and self.logging.mode == "statefulSets" and self.secrets.elasticPassword is None:
            raise _path_error(["secrets", "elasticPassword"], "required when logging is enabled (Elasticsearch runs with security on)")
        if self.cluster.mode == "eks" and not self.storage.efs.enabled:
            if self.logging.enabled and self.logging.elasticsearch.snapshotRepository:
                raise _path_error(
                    ["storage", "efs", "enabled"],
                    "the Elasticsearch snapshot repository (logging.elasticsearch.snapshotRepository) is one file system "
                    "shared by every node (ReadWriteMany, which EBS cannot give): keep EFS on or unset the repository",
                )
            if self.workloads.ui.replicas > 1 or self.rollout.strategy != "rolling":
                raise _path_error(
                    ["storage", "efs", "enabled"],
                    "the UI's L3 cache is shared by its replicas and rollout tracks (ReadWriteMany, which EBS cannot give): keep EFS on",
                )
        if any(run.resources.gpus for run in self.workloads.runs) and self.cluster.mode == "eks" and not self.gpu.enabled:
            raise _path_error(["gpu", "enabled"], "runs ask for GPUs but the GPU node pool is disabled")
        ingress = self.workloads.ui.ingress
        provider_kind = {"gatewayApi": "gatewayApi", "ingressNginx": "ingress"}.get(self.rollout.trafficProvider)
        if self.rollout.strategy != "rolling" and ingress.enabled and provider_kind and provider_kind != ingress.kind:
            raise _path_error(
                ["rollout", "trafficProvider"],
                f"{self.rollout.trafficProvider} cannot weight traffic through workloads.ui.ingress.kind {ingress.kind}: make them agree",
            )
        steps = len(self.rollout.steps)
        if self.rollout.step >= steps:
            raise _path_error(["rollout", "step"], f"the {self.rollout.strategy} rollout has steps 0..{steps - 1}, got {self.rollout.step}")
        for key in ("stableVersion", "newVersion"):
            version = getattr(self.rollout, key)
            if version is not None and not _SEMVER.match(version):
                raise _path_error(["rollout", key], f"must be a semantic version such as 1.2.3, got {version!r}")
        return self


# --- loading and error messages ---------------------------------------------------------


class ConfigError(Exception):
    """Invalid stack configuration: one line per problem, each naming the key path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(problems))


def _tier_for(stack: str, raw: Mapping[str, Any]) -> Tier | None:
    value = raw.get("tier", stack)
    try:
        return Tier(value)
    except ValueError:
        return None


def load_stack_config(raw: Mapping[str, Any], stack: str, source: str) -> StackConfig:
    """Validate the `rdagent:` keys of a stack (without the prefix) or raise ConfigError."""
    data = dict(raw)
    tier = _tier_for(stack, data)
    if tier is None:
        shown = data.get("tier", stack)
        return _raise(source, [f"rdagent:tier: must be one of dev, test, staging, prod, got {shown!r} (set it when the stack name is not a tier)"])
    data.setdefault("tier", tier.value)
    try:
        return StackConfig.model_validate(data, context={"tier": tier})
    except ValidationError as exc:
        return _raise(source, sorted(set(format_errors(exc))))


def _raise(source: str, problems: list[str]) -> StackConfig:
    raise ConfigError(source, problems)


def _key_path(loc: list[str | int]) -> str:
    text = "rdagent:"
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if index == 0 else f".{part}"
    return text


def _fields_at(loc: list[str | int]) -> list[str]:
    """The keys the model accepts at `loc`'s parent: for did-you-mean hints."""
    model: Any = StackConfig
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        model = next((arg for arg in getattr(annotation, "__args__", (annotation,)) if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
        if model is None and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return list(model.model_fields) if model is not None and hasattr(model, "model_fields") else []


def _describe(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), _fields_at(list(error["loc"])), n=1, cutoff=0.75)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    bounds = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}
    if kind in bounds:
        operator, name = bounds[kind]
        return f"must be {operator} {ctx[name]}, got {got!r}"
    if kind == "missing":
        return "required"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, got {got!r}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, got {got!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false, got {got!r}"
    if kind in ("string_type",):
        return f"must be a string, got {got!r}"
    if kind in ("list_type",):
        return f"must be a list, got {got!r}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values, got {got!r}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, got {got!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return f"has an invalid format (must match {ctx['pattern']}), got {got!r}"
    return error["msg"]


def format_errors(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        subpath = (error.get("ctx") or {}).get("subpath")
        if subpath:
            loc = loc + list(subpath)
        lines.append(f"{_key_path(loc)}: {_describe(error)}")
    return lines
