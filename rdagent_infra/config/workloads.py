"""`rdagent:workloads`: the UI Deployment (replicas, probe, resources, autoscaling, ingress)
and the batch runs (Jobs, or CronJobs when scheduled), one per RD-Agent scenario run."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import DnsName, Model, Port, Quantity, Tier, path_error
from rdagent_infra.config.images import CUDA_IMAGE_VARIANTS, GPU_IMAGE_VARIANTS, RdAgentVariant
from rdagent_infra.config.resources import Resources, gpu_resources
from rdagent_infra.config.ui_access import CertManagerConfig, UiAuthConfig
from rdagent_infra.logic import rdagent_reads
from rdagent_infra.logic.rdagent_env import DATA_DIR


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
    # gatewayApi: a user's requests stay on the pod (and so the track) they landed on, through every
    # rollout step, until that pod leaves the route: a session cookie at the Gateway (HTTPRoute
    # sessionPersistence, in the Gateway API's experimental channel, which Envoy Gateway's chart
    # installs). Streamlit keeps each session's state and media in its pod's memory.
    sessionPersistence: bool = True


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
    # QlibModelCoSTEER runs the extracted models' code in the `rdagent4qlib` conda environment.
    "general_model": "qlib",
}
# Scenarios that need Qlib data, which rdagent 1.0.0 prepares only through Docker (QTDockerEnv).
QLIB_SCENARIOS = frozenset({"fin_factor", "fin_factor_report", "fin_model", "fin_quant"})
# Scenarios that read the data volume (workloads.data, at DATA_DIR).
DATA_SCENARIOS = frozenset({"data_science", "general_model"})
# What a run's last step gets past its time bound before the Job's deadline: at least this, or a tenth.
RUN_END_MARGIN_SECONDS = 600


def duration_option(scenario: str) -> str | None:
    """The option that bounds a scenario's time: --all-duration (fin_*), --timeout (data_science), or none."""
    options = rdagent_reads.options_of(scenario)
    return next((flag for flag in ("--all-duration", "--timeout") if flag in options), None)


_CRON = re.compile(r"^(@(yearly|annually|monthly|weekly|daily|hourly)|(\S+\s+){4}\S+)$")


class RunConfig(Model):
    name: DnsName
    scenario: Scenario
    competition: str | None = None
    args: list[str] = []
    schedule: str | None = None
    image: RdAgentVariant | None = None
    resources: Resources = gpu_resources(seed.GPUS_PER_RUN)
    deadlineSeconds: Annotated[int, Field(ge=60, le=30 * 86400)] = 86400
    backoffLimit: Annotated[int, Field(ge=0, le=10)] = 1
    ttlSecondsAfterFinished: Annotated[int, Field(ge=0, le=30 * 86400)] = 86400
    workspaceSize: Quantity = "50Gi"
    # The run's own bounds (RD-Agent loops until stopped): at most this many loops (--loop-n), and at
    # most this long (--all-duration, or data_science's --timeout), ending before deadlineSeconds.
    loopN: Annotated[int, Field(ge=1, le=100_000)] | None = None
    allDurationMinutes: Annotated[int, Field(ge=1, le=30 * 24 * 60)] | None = None
    # The run's WorkloadPriorityClass when the queue is on (unset: queue.scheduledPriority or queue.oneOffPriority).
    priority: DnsName | None = None

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
    def _runs_in_a_pod(self) -> RunConfig:
        if self.scenario in QLIB_SCENARIOS:
            raise path_error(
                ["scenario"],
                f"{self.scenario} cannot run in a pod: rdagent {rdagent_reads.RDAGENT_VERSION} builds its Qlib data only in Docker "
                "(QTDockerEnv) and pods have no Docker socket; use data_science or general_model",
            )
        return self

    @model_validator(mode="after")
    def _bounded(self) -> RunConfig:
        """Every run ends on its own, before its Job's deadline (else the Job is killed and ends Failed)."""
        options = rdagent_reads.options_of(self.scenario)
        duration_flag = duration_option(self.scenario)
        for index, arg in enumerate(self.args):
            if arg.split("=", 1)[0] in ("--loop-n", "--all-duration", "--timeout", "--step-n"):
                raise path_error(["args", index], "set the run's bounds with loopN and allDurationMinutes, not in args")
        if self.loopN is not None and "--loop-n" not in options:
            raise path_error(["loopN"], f"`rdagent {self.scenario}` takes no --loop-n: it is not a loop and ends on its own")
        if duration_flag is None:
            if self.allDurationMinutes is not None:
                raise path_error(["allDurationMinutes"], f"`rdagent {self.scenario}` takes no duration: it is not a loop and ends on its own")
            return self
        if self.allDurationMinutes is None:
            raise path_error(
                ["allDurationMinutes"],
                f"required: `rdagent {self.scenario}` loops until it is stopped; bound it (passed as {duration_flag}) so that it ends "
                f"before deadlineSeconds ({self.deadlineSeconds} s)",
            )
        seconds = self.allDurationMinutes * 60
        margin = max(RUN_END_MARGIN_SECONDS, seconds // 10)
        if seconds + margin > self.deadlineSeconds:
            raise path_error(
                ["allDurationMinutes"],
                f"{self.allDurationMinutes} min leaves less than {margin} s before deadlineSeconds ({self.deadlineSeconds} s) for the last "
                f"step to finish: at most {(self.deadlineSeconds - margin) // 60} min, or raise deadlineSeconds",
            )
        return self

    def bound_args(self) -> list[str]:
        """The run's bounds as `rdagent <scenario>` options."""
        args = ["--loop-n", str(self.loopN)] if self.loopN is not None else []
        flag = duration_option(self.scenario)
        return args + ([flag, f"{self.allDurationMinutes}m"] if flag and self.allDurationMinutes is not None else [])

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


class DataConfig(Model):
    """The runs' input data: a ReadWriteMany claim the team fills, mounted at /data in every run
    (DS_LOCAL_DATA_PATH). For data_science, `zip_files/<competition>.zip` as `kaggle competitions
    download` makes it, and `<competition>/description.md`: RD-Agent unzips the archive and writes
    its sample data under `sample/` (so data_science runs mount it writable; without the archive it
    would download from Kaggle). For general_model, the PDF reports (mounted read-only).
    `existingClaim` names a claim that exists; unset, the program makes `rdagent-data` of `size`."""

    existingClaim: DnsName | None = None
    size: Quantity = seed.DATA_SIZE
    storageClassName: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")] | None = None


class WorkloadsConfig(Model):
    ui: UiConfig = UiConfig()
    runs: list[RunConfig] = []
    traces: TracesConfig = TracesConfig()
    data: DataConfig | None = None
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

    @model_validator(mode="after")
    def _data(self) -> WorkloadsConfig:
        for index, run in enumerate(self.runs):
            if run.scenario in DATA_SCENARIOS and self.data is None:
                raise path_error(["data"], f"required by runs[{index}] ({run.scenario}): the claim its input data is on (mounted at {DATA_DIR})")
            if run.scenario == "general_model" and not any(arg.startswith(DATA_DIR + "/") for arg in run.args):
                raise path_error(["runs", index, "args"], f"general_model's report must be a PDF on the data volume, a path under {DATA_DIR}/")
        return self
