"""`rdagent:workloads`: the UI Deployment (replicas, probe, resources, autoscaling, ingress)
and the batch runs (Jobs, or CronJobs when scheduled), one per RD-Agent scenario run."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import DnsName, Model, Port, Quantity, Tier, path_error
from rdagent_infra.config.images import CUDA_IMAGE_VARIANTS, GPU_IMAGE_VARIANTS, ImageVariant
from rdagent_infra.config.resources import Resources, gpu_resources
from rdagent_infra.config.ui_access import CertManagerConfig, UiAuthConfig
from rdagent_infra.logic import rdagent_reads


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
    # The certificate: an existing kubernetes.io/tls Secret (in gatewayNamespace with gatewayApi, else the
    # app namespace), or one cert-manager issues; unset, secrets.tlsCertificate/tlsPrivateKey make it.
    tlsSecretName: DnsName | None = None
    certManager: CertManagerConfig | None = None
    # Sign-in in front of the UI (oauth2-proxy); required in staging and prod when the UI is exposed.
    auth: UiAuthConfig = UiAuthConfig()


class UiConfig(Model):
    replicas: Annotated[int, Field(ge=1, le=100)] = 1
    port: Port = seed.UI_PORT
    probe: ProbeConfig = ProbeConfig()
    resources: Resources = Resources()
    autoscaling: AutoscalingConfig = AutoscalingConfig()
    ingress: IngressConfig = IngressConfig()
    # `rdagent ui --data-science`: the data-science trace viewer (it reads UI_DEFAULT_LOG_FOLDERS, not --log-dir).
    dataScience: bool = False

    @model_validator(mode="after")
    def _ha(self, info: ValidationInfo) -> UiConfig:
        tier = (info.context or {}).get("tier")
        if tier == Tier.PROD and self.replicas < 2:
            raise path_error(["replicas"], f"must be >= 2 in prod for high availability, got {self.replicas}")
        if self.resources.gpus:
            raise path_error(["resources", "limits", "gpu"], "the UI serves pages and needs no GPU: set 0")
        if self.autoscaling.maxReplicas < self.replicas:
            raise path_error(["autoscaling", "maxReplicas"], f"must be >= replicas ({self.replicas}), got {self.autoscaling.maxReplicas}")
        return self


# The `rdagent` commands that are runs (rdagent 1.0.0 has no `kaggle` command: Kaggle competitions
# are data_science runs, in the kaggle image when asked for).
Scenario = Literal["data_science", "fin_factor", "fin_factor_report", "fin_model", "fin_quant", "general_model"]

# The image each scenario runs in when a run names none.
SCENARIO_IMAGES: dict[str, str] = {
    "data_science": "data-science",
    "fin_factor": "qlib",
    "fin_factor_report": "qlib",
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
    def _command_line(self) -> RunConfig:
        """The run's command line must be one `rdagent <scenario>` accepts (its options, read from the package)."""
        options = rdagent_reads.options_of(self.scenario)
        if self.competition and "--competition" not in options:
            raise path_error(["competition"], f"`rdagent {self.scenario}` takes no --competition")
        if self.scenario == "data_science" and not self.competition:
            raise path_error(["competition"], "required for the data_science scenario")
        for index, arg in enumerate(self.args):
            flag = arg.split("=", 1)[0]
            if flag.startswith("-") and flag not in options:
                known = ", ".join(option for option in options if option.startswith("--")) or "none"
                raise path_error(["args", index], f"`rdagent {self.scenario}` has no option {flag} (its options: {known})")
        positionals = rdagent_reads.positionals_of(self.scenario)
        given = [arg for arg in self.args if not arg.startswith("-")]
        if positionals and not given:
            raise path_error(["args"], f"`rdagent {self.scenario}` needs its {', '.join(positionals)} as the first argument")
        return self

    @model_validator(mode="after")
    def _cuda(self) -> RunConfig:
        if self.image and self.resources.gpus and self.image not in CUDA_IMAGE_VARIANTS:
            counterpart = GPU_IMAGE_VARIANTS.get(self.image)
            hint = f"use {counterpart}" if counterpart else "use an image with CUDA or set the GPUs to 0"
            raise path_error(["image"], f"{self.image} has no CUDA runtime but the run asks for {self.resources.gpus} GPU(s): {hint}")
        return self

    @property
    def image_variant(self) -> str:
        """The named image, or the scenario's; a run with GPUs gets the scenario image's CUDA counterpart."""
        if self.image:
            return self.image
        variant = SCENARIO_IMAGES[self.scenario]
        return GPU_IMAGE_VARIANTS.get(variant, variant) if self.resources.gpus else variant


class TracesConfig(Model):
    """The shared volume runs write their traces to (LOG_TRACE_PATH) and the UI reads (--log-dir)."""

    size: Quantity = seed.TRACES_SIZE
    # A class that gives ReadWriteMany (on EKS an EFS class); unset: the cluster's default class.
    storageClassName: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")] | None = None


class WorkloadsConfig(Model):
    ui: UiConfig = UiConfig()
    runs: list[RunConfig] = []
    traces: TracesConfig = TracesConfig()
    ompNumThreads: Annotated[int, Field(ge=1, le=256)] = seed.OMP_NUM_THREADS

    @field_validator("runs")
    @classmethod
    def _unique(cls, runs: list[RunConfig]) -> list[RunConfig]:
        seen: set[str] = set()
        for index, run in enumerate(runs):
            if run.name in seen:
                raise path_error([index, "name"], f"duplicate run name {run.name!r}")
            seen.add(run.name)
        return runs
