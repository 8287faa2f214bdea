"""Rollout gates: the queries that judge a rollout step, built from the traffic provider's metrics
(logic/traffic_metrics.py), and the step's analysis settings."""

from __future__ import annotations

from dataclasses import dataclass

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.rollout import RolloutPlan
from rdagent_infra.logic.traffic_metrics import TrafficSource, track_matcher, traffic_source
from rdagent_infra.logic.ui_auth import routed_service
from rdagent_infra.logic.verdicts import Measurement


@dataclass(frozen=True)
class Gate:
    name: str
    query: str
    threshold: float
    above: bool  # True: the value must be above the threshold; False: below it
    unit: str

    def measure(self, value: float | None) -> Measurement:
        return Measurement(self.name, value, self.threshold, self.above, self.unit)


@dataclass(frozen=True)
class Analysis:
    """What one analysis of the current step asks Prometheus."""

    source: str
    window: str
    requests_query: str
    gates: tuple[Gate, ...]
    min_requests: int


def window_of(minutes: float) -> str:
    """A PromQL range of the step's duration, at least one minute."""
    return f"{max(int(minutes), 1)}m"


def analysis_for(config: StackConfig, plan: RolloutPlan) -> Analysis | None:
    """The analysis of the plan's current step; None when nothing is rolling out."""
    if plan.strategy == "rolling" or len(plan.tracks) < 2:
        return None
    namespace = config.namespace
    source = traffic_source(plan.provider, namespace)
    track = plan.tracks[1].name
    # With sign-in, ingress-nginx sees the new track's proxy Service as the canary backend.
    new_service = routed_service(config, plan.services[2].name)
    extra = track_matcher(source, namespace, track, new_service)
    if plan.strategy == "canary":
        stage = config.rollout.canary.stages[plan.step]
        window = window_of(stage.durationMinutes)
        gates = _canary_gates(source, extra, window, stage)
    else:
        # Blue-green steps carry no metrics of their own in the seed: the new colour must stay under the alert's error rate.
        window = window_of(config.rollout.blueGreen.stepDurationMinutes)
        gates = [Gate("error rate", source.error_rate(extra, window), config.monitoring.alerts.errorRatePercent, False, "%")]
    return Analysis(source.kind, window, source.request_count(extra, window), tuple(gates), config.rollout.analysis.minRequests)


def _canary_gates(source: TrafficSource, extra: str, window: str, stage) -> list[Gate]:
    gates = []
    if stage.successRatePercent is not None:
        gates.append(Gate("success rate", source.success_rate(extra, window), stage.successRatePercent, True, "%"))
    if stage.latencyThresholdMs is not None:
        gates.append(Gate("p95 response time", source.p95_ms(extra, window), stage.latencyThresholdMs, False, "ms"))
    if stage.errorRatePercent is not None:
        gates.append(Gate("error rate", source.error_rate(extra, window), stage.errorRatePercent, False, "%"))
    return gates


def gates_for(config: StackConfig, plan: RolloutPlan) -> list[Gate]:
    analysis = analysis_for(config, plan)
    return list(analysis.gates) if analysis else []
