"""Rollout gates: the PromQL that judges a rollout step (kept in this one place) and the verdicts.

The queries read the UI's request metrics scoped to the new track's pods (the ServiceMonitor copies
the pod label `rdagent.io/track` onto every series as `rdagent_io_track`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.alerts import HTTP_LATENCY_BUCKETS, HTTP_REQUESTS
from rdagent_infra.logic.rollout import RolloutPlan

TRACK_SERIES_LABEL = "rdagent_io_track"
NOT_5XX = ', code!~"5.."'
ONLY_5XX = ', code=~"5.."'


@dataclass(frozen=True)
class Gate:
    name: str
    query: str
    threshold: float
    above: bool  # True: the value must be above the threshold; False: below it
    unit: str

    def passes(self, value: float) -> bool:
        return value > self.threshold if self.above else value < self.threshold

    def describe(self, value: float | None) -> str:
        wanted = f"{'>' if self.above else '<'} {self.threshold:g}{self.unit}"
        shown = "no data" if value is None else f"{value:.3g}{self.unit}"
        return f"{self.name} {shown} (needs {wanted})"


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    value: float | None

    @property
    def passed(self) -> bool:
        return self.value is not None and self.gate.passes(self.value)

    def line(self) -> str:
        return f"{'pass' if self.passed else 'FAIL'}: {self.gate.describe(self.value)}"


def _selector(namespace: str, track: str, extra: str = "") -> str:
    return f'namespace="{namespace}", {TRACK_SERIES_LABEL}="{track}"{extra}'


def success_rate_query(namespace: str, track: str, window: str) -> str:
    return (
        f"100 * sum(rate({HTTP_REQUESTS}{{{_selector(namespace, track, NOT_5XX)}}}[{window}]))"
        f" / sum(rate({HTTP_REQUESTS}{{{_selector(namespace, track)}}}[{window}]))"
    )


def error_rate_query(namespace: str, track: str, window: str) -> str:
    return (
        f"100 * sum(rate({HTTP_REQUESTS}{{{_selector(namespace, track, ONLY_5XX)}}}[{window}]))"
        f" / sum(rate({HTTP_REQUESTS}{{{_selector(namespace, track)}}}[{window}]))"
    )


def p95_latency_ms_query(namespace: str, track: str, window: str) -> str:
    return f"1000 * histogram_quantile(0.95, sum by (le) (rate({HTTP_LATENCY_BUCKETS}{{{_selector(namespace, track)}}}[{window}])))"


def gates_for(config: StackConfig, plan: RolloutPlan) -> list[Gate]:
    """The gates of the plan's current step, over the step's duration (at least one minute)."""
    if plan.strategy == "rolling" or len(plan.tracks) < 2:
        return []
    namespace = config.namespace
    track = plan.tracks[1].name
    if plan.strategy == "canary":
        stage = config.rollout.canary.stages[plan.step]
        window = f"{max(stage.durationMinutes, 1)}m"
        gates = []
        if stage.successRatePercent is not None:
            gates.append(Gate("success rate", success_rate_query(namespace, track, window), stage.successRatePercent, True, "%"))
        if stage.latencyThresholdMs is not None:
            gates.append(Gate("p95 response time", p95_latency_ms_query(namespace, track, window), stage.latencyThresholdMs, False, "ms"))
        if stage.errorRatePercent is not None:
            gates.append(Gate("error rate", error_rate_query(namespace, track, window), stage.errorRatePercent, False, "%"))
        return gates
    # Blue-green steps carry no metrics of their own in the seed: the new colour must stay under the alert's error rate.
    window = "5m"
    return [Gate("error rate", error_rate_query(namespace, track, window), config.monitoring.alerts.errorRatePercent, False, "%")]
