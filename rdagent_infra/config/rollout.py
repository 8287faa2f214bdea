"""`rdagent:rollout`: the UI's rollout strategy (rolling, canary, blue-green), its traffic
provider and where the rollout stands. The weights each step sends are computed in
`rdagent_infra.logic.steps`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, field_validator, model_validator

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import Model, path_error


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
                raise path_error(
                    [index, "weightPercent"],
                    f"stage weights must rise strictly: {stages[index].weightPercent} follows {stages[index - 1].weightPercent}",
                )
        if stages[-1].weightPercent != 100:
            raise path_error([len(stages) - 1, "weightPercent"], f"the last stage must send 100% of traffic, got {stages[-1].weightPercent}")
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
            raise path_error(["fullSwitchPercent"], f"must be >= initialWeightPercent ({self.initialWeightPercent})")
        return self


class AnalysisConfig(Model):
    """How `rollout advance` / `rollout run` judge a step (progressive-delivery semantics)."""

    # Fewer requests than this in the step's window: the analysis is inconclusive, not a pass or a fail.
    minRequests: Annotated[int, Field(ge=1, le=1_000_000)] = seed.ANALYSIS_MIN_REQUESTS
    # A failing analysis aborts at this many consecutive failures.
    failureLimit: Annotated[int, Field(ge=1, le=100)] = seed.ANALYSIS_FAILURE_LIMIT
    # Inconclusive analyses after the step's duration are tolerated this many times, then the rollout aborts.
    inconclusiveLimit: Annotated[int, Field(ge=0, le=1000)] = seed.ANALYSIS_INCONCLUSIVE_LIMIT
    # How often `rollout run` analyses (seconds, before durationScale).
    intervalSeconds: Annotated[int, Field(ge=1, le=3600)] = seed.ANALYSIS_INTERVAL_SECONDS


class LoadHookConfig(Model):
    """A bounded Job per step that sends requests to the new track's Service, so quiet services have data."""

    enabled: bool = False
    requests: Annotated[int, Field(ge=1, le=100_000)] = seed.LOAD_HOOK_REQUESTS
    concurrency: Annotated[int, Field(ge=1, le=50)] = 2
    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/?&=%-]*$")] = seed.UI_HEALTH_PATH
    # The Job stops after this long whatever it has sent (activeDeadlineSeconds).
    timeoutSeconds: Annotated[int, Field(ge=10, le=3600)] = 300


class RolloutConfig(Model):
    strategy: Literal["rolling", "canary", "blueGreen"] = "rolling"
    trafficProvider: Literal["gatewayApi", "ingressNginx", "replicas"] = "gatewayApi"
    stableVersion: str | None = None
    newVersion: str | None = None
    step: Annotated[int, Field(ge=0, le=100)] = 0
    # Written by `rdagent-infra rollout` when it moves the rollout: when the current step began.
    stepStartedAt: AwareDatetime | None = None
    # Written by `rdagent-infra rollout`: consecutive failing analyses, and inconclusive ones after the step's duration.
    failedAnalyses: Annotated[int, Field(ge=0, le=1000)] = 0
    inconclusiveAnalyses: Annotated[int, Field(ge=0, le=100_000)] = 0
    canary: CanaryConfig = CanaryConfig()
    blueGreen: BlueGreenConfig = BlueGreenConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    loadHook: LoadHookConfig = LoadHookConfig()
    # Step durations and the analysis interval are multiplied by this: 1 in real use; tests and rehearsals shorten them.
    durationScale: Annotated[float, Field(gt=0, le=1)] = 1.0
