"""The stack configuration: one pydantic model tree for every `rdagent:` key.

Validated once, at the edge (`load_stack_config`), then passed down as typed objects.
Keys are written in camelCase in the stack files, as Kubernetes and Pulumi write theirs;
numeric keys carry their unit in the name (`durationMinutes`, `latencyThresholdMs`).

One module per section (cluster, gpu, images, app, workloads, data, logging, monitoring,
rollout, secrets, secrets_store, storage, queue, addons, ui_access), the building blocks in `base` and `resources`, the error messages in
`errors`, and the whole stack with its cross-section rules in `stack`. Everything is
re-exported here: `from rdagent_infra.config import StackConfig, load_stack_config`.
"""

from rdagent_infra.config.addons import AddonsConfig, EksAddonVersions, HelmChartConfig
from rdagent_infra.config.app import AppConfig, LlmConfig
from rdagent_infra.config.base import SEMVER, DnsName, Model, Port, Quantity, Tier, path_error
from rdagent_infra.config.cluster import AwsConfig, ClusterConfig, EksConfig
from rdagent_infra.config.data import CacheConfig, CacheTier, DiskCacheTier, ElastiCacheConfig, RedisConfig
from rdagent_infra.config.errors import ConfigError, format_errors
from rdagent_infra.config.gpu import GpuConfig, NodePoolConfig
from rdagent_infra.config.images import (
    CUDA_IMAGE_VARIANTS,
    GATEWAY_IMAGE_VARIANT,
    GPU_IMAGE_VARIANTS,
    IMAGE_VARIANTS,
    ImagesConfig,
    ImageVariant,
    RdAgentVariant,
)
from rdagent_infra.config.logging import ElasticsearchConfig, LoggingConfig
from rdagent_infra.config.monitoring import AlertsConfig, MonitoringConfig
from rdagent_infra.config.queue import PriorityClassConfig, QueueConfig
from rdagent_infra.config.resources import ResourceAmounts, Resources, gpu_resources
from rdagent_infra.config.rollout import AnalysisConfig, BlueGreenConfig, CanaryConfig, CanaryStage, LoadHookConfig, RolloutConfig
from rdagent_infra.config.secrets import LLM_KEY_SECRETS, Secret, SecretsConfig, SecretValue
from rdagent_infra.config.secrets_store import AwsSecretsManagerKeys, SecretsStoreConfig
from rdagent_infra.config.stack import NAMESPACE, StackConfig, load_stack_config
from rdagent_infra.config.storage import EbsConfig, EfsConfig, StorageConfig
from rdagent_infra.config.ui_access import CertManagerConfig, UiAuthConfig
from rdagent_infra.config.workloads import (
    SCENARIO_IMAGES,
    AutoscalingConfig,
    IngressConfig,
    ProbeConfig,
    RunConfig,
    Scenario,
    UiConfig,
    WorkloadsConfig,
)

__all__ = [
    "AnalysisConfig",
    "CUDA_IMAGE_VARIANTS",
    "GPU_IMAGE_VARIANTS",
    "IMAGE_VARIANTS",
    "LLM_KEY_SECRETS",
    "LoadHookConfig",
    "NAMESPACE",
    "SCENARIO_IMAGES",
    "SEMVER",
    "AddonsConfig",
    "AlertsConfig",
    "PriorityClassConfig",
    "QueueConfig",
    "AppConfig",
    "AutoscalingConfig",
    "AwsConfig",
    "AwsSecretsManagerKeys",
    "BlueGreenConfig",
    "CacheConfig",
    "CacheTier",
    "CanaryConfig",
    "CanaryStage",
    "CertManagerConfig",
    "ClusterConfig",
    "ConfigError",
    "DiskCacheTier",
    "DnsName",
    "EbsConfig",
    "EfsConfig",
    "EksAddonVersions",
    "EksConfig",
    "ElastiCacheConfig",
    "ElasticsearchConfig",
    "GpuConfig",
    "HelmChartConfig",
    "ImageVariant",
    "RdAgentVariant",
    "GATEWAY_IMAGE_VARIANT",
    "ImagesConfig",
    "IngressConfig",
    "LlmConfig",
    "LoggingConfig",
    "Model",
    "MonitoringConfig",
    "NodePoolConfig",
    "Port",
    "ProbeConfig",
    "Quantity",
    "RedisConfig",
    "ResourceAmounts",
    "Resources",
    "RolloutConfig",
    "RunConfig",
    "Scenario",
    "Secret",
    "SecretValue",
    "SecretsConfig",
    "SecretsStoreConfig",
    "StackConfig",
    "StorageConfig",
    "Tier",
    "UiAuthConfig",
    "UiConfig",
    "WorkloadsConfig",
    "format_errors",
    "gpu_resources",
    "load_stack_config",
    "path_error",
]
