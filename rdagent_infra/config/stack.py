"""The whole stack: every section in one model, the rules that span sections, and
`load_stack_config`, the one place a stack's `rdagent:` keys are validated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError, model_validator
from rdagent_policies.quantities import parse_quantity

from rdagent_infra import defaults as seed
from rdagent_infra.config.addons import AddonsConfig
from rdagent_infra.config.app import AppConfig, LlmConfig
from rdagent_infra.config.base import SEMVER, DnsName, Model, Tier, path_error
from rdagent_infra.config.cluster import AwsConfig, ClusterConfig
from rdagent_infra.config.data import CacheConfig, RedisConfig
from rdagent_infra.config.errors import ConfigError, format_errors
from rdagent_infra.config.gpu import GpuConfig
from rdagent_infra.config.images import ImagesConfig
from rdagent_infra.config.logging import LoggingConfig
from rdagent_infra.config.monitoring import MonitoringConfig
from rdagent_infra.config.queue import QueueConfig
from rdagent_infra.config.rollout import RolloutConfig
from rdagent_infra.config.secrets import LLM_KEY_SECRETS, SecretsConfig, is_placeholder
from rdagent_infra.config.secrets_store import SecretsStoreConfig
from rdagent_infra.config.storage import StorageConfig
from rdagent_infra.config.ui_access import cookie_secret_problem
from rdagent_infra.config.workloads import WorkloadsConfig
from rdagent_infra.logic.steps import rollout_steps

NAMESPACE = "rdagent"


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
    secretsStore: SecretsStoreConfig = SecretsStoreConfig()
    workloads: WorkloadsConfig = WorkloadsConfig()
    cache: CacheConfig = CacheConfig()
    redis: RedisConfig = RedisConfig()
    logging: LoggingConfig = LoggingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    rollout: RolloutConfig = RolloutConfig()
    storage: StorageConfig = StorageConfig()
    queue: QueueConfig = QueueConfig()
    addons: AddonsConfig = AddonsConfig()

    @model_validator(mode="after")
    def _combinations(self) -> StackConfig:
        if self.secrets.redisPassword is None:
            raise path_error(["secrets", "redisPassword"], "required: the Redis password (ElastiCache auth token); set it with pulumi config set --secret")
        if self.redis.mode == "elasticache" and self.cluster.mode != "eks":
            raise path_error(["redis", "mode"], "elasticache needs cluster.mode eks (it lives in the cluster's VPC)")
        if (self.images.ecr or self.gpu.enabled) and self.cluster.mode != "eks":
            key = ["images", "ecr"] if self.images.ecr else ["gpu", "enabled"]
            raise path_error(key, "needs cluster.mode eks: ECR repositories and node pools are created on AWS")
        if (self.secrets.tlsCertificate is None) != (self.secrets.tlsPrivateKey is None):
            raise path_error(
                ["secrets", "tlsCertificate" if self.secrets.tlsCertificate is None else "tlsPrivateKey"],
                "set both tlsCertificate and tlsPrivateKey, or neither",
            )
        if self.logging.enabled and self.logging.mode == "statefulSets" and self.secrets.elasticPassword is None:
            raise path_error(["secrets", "elasticPassword"], "required when logging is enabled (Elasticsearch runs with security on)")
        if any(run.resources.gpus for run in self.workloads.runs) and self.cluster.mode == "eks" and not self.gpu.enabled:
            raise path_error(["gpu", "enabled"], "runs ask for GPUs but the GPU node pool is disabled")
        if self.cluster.mode == "eks" and not self.cluster.eks.existingVpcId and self.zone_ids() is None:
            raise path_error(
                ["cluster", "eks", "zoneIds"],
                f"required in {self.aws.region} (no default here): list two or more Availability Zone IDs of the region "
                "(aws ec2 describe-availability-zones --query 'AvailabilityZones[].ZoneId')",
            )
        version = tuple(int(part) for part in self.cluster.eks.version.split("."))
        if self.cluster.mode == "eks" and self.gpu.amiType == "AL2_x86_64_GPU" and version >= (1, 33):
            raise path_error(
                ["gpu", "amiType"],
                f"AL2_x86_64_GPU has no AMIs for Kubernetes {self.cluster.eks.version} (EKS publishes Amazon Linux 2 AMIs up to 1.32): "
                "use AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA",
            )
        self._check_llm_keys()
        self._check_rollout()
        self._check_shared_storage()
        self._check_ui_access()
        self._check_queue()
        return self

    def ecr_repository(self, variant: str) -> str:
        """The name of an image variant's ECR repository: `<images.repositoryPrefix or rdagent-<tier>>/<variant>`."""
        return f"{self.images.repositoryPrefix or f'rdagent-{self.tier.value}'}/{variant}"

    def zone_ids(self) -> list[str] | None:
        """The Availability Zone IDs of the VPC the program makes: configured, or the region's default."""
        configured = self.cluster.eks.zoneIds
        default = seed.DEFAULT_ZONE_IDS.get(self.aws.region)
        return list(configured) if configured else list(default) if default else None

    def ui_exposed_by(self) -> str | None:
        """Why the UI is reachable from outside the cluster (a route on the Gateway or an Ingress), or None."""
        if self.workloads.ui.ingress.enabled:
            return "workloads.ui.ingress.enabled"
        if self.rollout.strategy != "rolling" and self.rollout.trafficProvider != "replicas":
            return f"every {self.rollout.strategy} rollout routes it through rollout.trafficProvider {self.rollout.trafficProvider}"
        return None

    def log_llm_chat_content(self) -> bool:
        """`app.logLlmChatContent`, or by tier: prompts and answers stay out of prod's logs."""
        chosen = self.app.logLlmChatContent
        return self.tier != Tier.PROD if chosen is None else chosen

    def llm_keys(self) -> list[str]:
        """The LLM API keys (stack secret field names) the pods get, from the stack's secrets or from Secrets Manager."""
        from_store = {field for field, _ in self.secretsStore.arns()}
        return [field for field in LLM_KEY_SECRETS if getattr(self.secrets, field) is not None or field in from_store]

    def held_llm_keys(self) -> dict[str, str]:
        """The LLM API keys held as stack secrets: field name -> value (whoever writes them to a
        Kubernetes Secret marks them secret)."""
        return {field: getattr(self.secrets, field).value for field in LLM_KEY_SECRETS if getattr(self.secrets, field) is not None}

    def _check_llm_keys(self) -> None:
        store = self.secretsStore
        if self.llm.azureApiBase is not None and "azureOpenaiApiKey" not in self.llm_keys() and self.tier != Tier.DEV:
            raise path_error(["secrets", "azureOpenaiApiKey"], "required: rdagent:llm names an Azure OpenAI deployment")
        if self.tier.is_production_like and not self.llm_keys():
            raise path_error(
                ["secrets", "openaiApiKey"],
                f"{self.tier.value} needs at least one LLM API key ({', '.join(LLM_KEY_SECRETS)}), as a stack secret or from secretsStore.secrets",
            )
        if not store.enabled:
            return
        key = ["secretsStore", "secrets"]
        for field, _ in store.arns():
            if getattr(self.secrets, field) is not None:
                raise path_error([*key, field], f"comes from Secrets Manager and from secrets.{field}: one key, one source (unset one)")
        if self.cluster.mode != "eks":
            raise path_error(
                key,
                "needs cluster.mode eks: the pods read Secrets Manager through IAM roles for their service accounts, which the program "
                "makes with its EKS cluster's OIDC provider",
            )
        if store.region() != self.aws.region:
            raise path_error(key, f"the secrets are in {store.region()}, the stack in aws.region {self.aws.region}: use secrets of the stack's region")

    def queue_enabled(self) -> bool:
        """`queue.enabled`, or by default: on in staging and prod and wherever a run asks for GPUs."""
        chosen = self.queue.enabled
        if chosen is not None:
            return chosen
        return self.tier.is_production_like or any(run.resources.gpus for run in self.workloads.runs)

    def cluster_queue(self) -> str:
        """The stack's ClusterQueue: `queue.clusterQueue`, or `<namespace>-runs`."""
        return self.queue.clusterQueue or f"{self.namespace}-runs"

    def run_priority(self, run) -> str:
        """A run's WorkloadPriorityClass: its own, or the queue's for scheduled and one-off runs."""
        if run.priority is not None:
            return run.priority
        return self.queue.scheduledPriority if run.schedule else self.queue.oneOffPriority

    def _check_queue(self) -> None:
        """With the queue on, every run names a known priority and fits the quota (Kueue would never admit one that does not)."""
        if not self.queue_enabled():
            return
        queue = self.queue
        names = [priority.name for priority in queue.priorities]
        quota = {"cpu": str(queue.maxCpu), "memory": queue.maxMemory}
        for index, run in enumerate(self.workloads.runs):
            key = ["workloads", "runs", index]
            if run.priority is not None and run.priority not in names:
                raise path_error([*key, "priority"], f"names no class of queue.priorities ({', '.join(names)}): {run.priority!r}")
            if run.resources.gpus > self.gpu.maxGpus:
                raise path_error(
                    [*key, "resources", "requests", "gpu"],
                    f"{run.resources.gpus} GPUs is more than the queue's quota, gpu.maxGpus ({self.gpu.maxGpus}): the run would wait forever",
                )
            for field, limit in quota.items():
                request = getattr(run.resources.requests, field)
                if parse_quantity(request) > parse_quantity(limit):
                    name = "maxCpu" if field == "cpu" else "maxMemory"
                    raise path_error(
                        [*key, "resources", "requests", field],
                        f"{request} is more than the queue's quota, queue.{name} ({limit}): the run would wait forever",
                    )

    def _check_ui_access(self) -> None:
        ingress = self.workloads.ui.ingress
        key = ["workloads", "ui", "ingress"]
        secrets = self.secrets
        if ingress.certManager is not None and secrets.tlsCertificate is not None:
            raise path_error([*key, "certManager"], "one certificate, one source: unset secrets.tlsCertificate/tlsPrivateKey or certManager")
        if ingress.certManager is not None and ingress.kind == "gatewayApi" and self.cluster.mode != "eks":
            raise path_error(
                [*key, "certManager"],
                "with gatewayApi the certificate belongs to the Gateway, which this stack creates on EKS only: "
                "let the Gateway's owner issue it (unset certManager) or use kind ingress",
            )
        if ingress.certManager is not None and self.cluster.mode == "eks" and ingress.certManager.acmeEmail is None:
            raise path_error(
                [*key, "certManager", "acmeEmail"],
                f"required in eks mode: the program installs cert-manager and the {ingress.certManager.issuerKind} "
                f"{ingress.certManager.issuer!r} (ACME, HTTP-01 through the UI's route); set the address the ACME server "
                "writes to about this certificate",
            )
        if ingress.tlsSecretName is not None and secrets.tlsCertificate is not None and ingress.certManager is None:
            raise path_error([*key, "tlsSecretName"], "names an existing Secret, but secrets.tlsCertificate would make one: keep one of them")
        if ingress.auth.enabled:
            for name in ("oauth2ClientSecret", "oauth2CookieSecret"):
                if getattr(secrets, name) is None:
                    raise path_error(["secrets", name], "required when workloads.ui.ingress.auth is enabled; set it with pulumi config set --secret")
            cookie = secrets.oauth2CookieSecret
            problem = None if cookie is None or is_placeholder(cookie) else cookie_secret_problem(cookie.value)
            if problem:
                raise path_error(["secrets", "oauth2CookieSecret"], problem)
        exposed = self.ui_exposed_by()
        if exposed is None or not self.tier.is_production_like:
            return
        tier = self.tier.value
        if not ingress.auth.enabled:
            raise path_error(
                [*key, "auth", "enabled"],
                f"required in {tier}: the UI is exposed ({exposed}) and RD-Agent's UI has no login of its own. Put oauth2-proxy in "
                "front: set auth.enabled true, auth.oidcIssuerUrl, auth.clientId, auth.emailDomains and/or auth.allowedGroups, and the "
                "secrets oauth2ClientSecret and oauth2CookieSecret (docs/security.md)",
            )
        if not ingress.tls:
            raise path_error([*key, "tls"], f"must be true in {tier}: sign-in cookies and tokens travel over TLS only")
        if ingress.certManager is None and ingress.tlsSecretName is None and secrets.tlsCertificate is None:
            raise path_error(
                [*key, "certManager"],
                f"the UI's certificate in {tier}: set certManager.issuer (cert-manager issues it), tlsSecretName (an existing "
                "kubernetes.io/tls Secret) or secrets.tlsCertificate and secrets.tlsPrivateKey",
            )

    def _check_shared_storage(self) -> None:
        """On EKS a claim several nodes mount (ReadWriteMany) needs EFS: EBS attaches to one node."""
        if self.cluster.mode != "eks" or self.storage.efs.enabled:
            return
        if self.logging.enabled and self.logging.elasticsearch.snapshotRepository:
            raise path_error(
                ["storage", "efs", "enabled"],
                "the Elasticsearch snapshot repository (logging.elasticsearch.snapshotRepository) is one file system "
                "shared by every node (ReadWriteMany, which EBS cannot give): keep EFS on or unset the repository",
            )
        if self.workloads.ui.replicas > 1 or self.rollout.strategy != "rolling":
            raise path_error(
                ["storage", "efs", "enabled"],
                "the UI's L3 cache is shared by its replicas and rollout tracks (ReadWriteMany, which EBS cannot give): keep EFS on",
            )

    def _check_rollout(self) -> None:
        ingress = self.workloads.ui.ingress
        provider_kind = {"gatewayApi": "gatewayApi", "ingressNginx": "ingress"}.get(self.rollout.trafficProvider)
        if self.rollout.strategy != "rolling" and ingress.enabled and provider_kind and provider_kind != ingress.kind:
            raise path_error(
                ["rollout", "trafficProvider"],
                f"{self.rollout.trafficProvider} cannot weight traffic through workloads.ui.ingress.kind {ingress.kind}: make them agree",
            )
        steps = len(rollout_steps(self.rollout))
        if self.rollout.step >= steps:
            raise path_error(["rollout", "step"], f"the {self.rollout.strategy} rollout has steps 0..{steps - 1}, got {self.rollout.step}")
        for key in ("stableVersion", "newVersion"):
            version = getattr(self.rollout, key)
            if version is not None and not SEMVER.match(version):
                raise path_error(["rollout", key], f"must be a semantic version such as 1.2.3, got {version!r}")


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
        return _raise(source, sorted(set(format_errors(exc, StackConfig))))


def _raise(source: str, problems: list[str]) -> StackConfig:
    raise ConfigError(source, problems)
