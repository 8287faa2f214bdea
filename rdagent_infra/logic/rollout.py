"""The rollout plan: from the stack's rollout config to Deployments (tracks), Services and
traffic weights. One pure function, `plan_rollout`, used by the UI component, `synth`, the
policy pack's tests and the `rollout` command alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rdagent_infra.config import RolloutConfig
from rdagent_infra.logic.steps import rollout_steps

APP = "rdagent-ui"
TRACK_LABEL = "rdagent.io/track"


@dataclass(frozen=True)
class Track:
    name: str
    deployment: str
    replicas: int
    version: str | None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    selector: dict[str, str]


@dataclass(frozen=True)
class RolloutPlan:
    strategy: str
    provider: str
    step: int
    tracks: tuple[Track, ...]
    services: tuple[ServiceSpec, ...]
    # Service name -> percent of traffic, for the route; empty when no weighted route is needed.
    weights: dict[str, int]
    primary_service: str
    new_weight: int
    final: bool

    @property
    def autoscaled_track(self) -> Track | None:
        """The track an HPA may scale: the one serving the larger share of traffic (so the HPA
        follows the switch and never revives a colour scaled to zero); none mid-rollout by replica
        ratio, where the replica counts are the weights."""
        if len(self.tracks) == 1:
            return self.tracks[0]
        if self.provider == "replicas":
            return None
        return self.tracks[1] if self.new_weight >= 50 else self.tracks[0]


def _replica_split(total: int, weight: int) -> tuple[int, int]:
    """Old and new replicas for a replica-ratio rollout: the old side keeps at least one
    replica until the new one takes all traffic, and the new side has at least one."""
    if weight >= 100:
        return 0, max(total, 1)
    new = min(max(1, round(total * weight / 100)), max(total - 1, 1))
    return max(total - new, 1), new


def plan_rollout(rollout: RolloutConfig, replicas: int) -> RolloutPlan:
    strategy = rollout.strategy
    provider = rollout.trafficProvider
    all_pods = ServiceSpec(APP, {})
    if strategy == "rolling" or not rollout.newVersion:
        return _at_rest(rollout, replicas, all_pods)

    steps = rollout_steps(rollout)
    step = min(rollout.step, len(steps) - 1)
    weight = steps[step]
    final = step == len(steps) - 1
    if strategy == "canary":
        old_name, new_name = "stable", "canary"
        old_service, new_service = f"{APP}-stable", f"{APP}-canary"
    else:
        old_name = rollout.blueGreen.activeColor
        new_name = "green" if old_name == "blue" else "blue"
        old_service, new_service = f"{APP}-active", f"{APP}-preview"

    if provider == "replicas":
        old_replicas, new_replicas = _replica_split(replicas, weight)
        weights: dict[str, int] = {}
        primary = APP
    else:
        # A weighted route moves the traffic: the old side keeps its full size for instant rollback.
        old_replicas = replicas
        new_replicas = replicas if strategy == "blueGreen" else max(1, math.ceil(replicas * weight / 100))
        weights = {old_service: 100 - weight, new_service: weight}
        primary = old_service
    if strategy == "blueGreen" and final:
        old_replicas = 0  # the switch is complete: the old colour scales to zero, kept for rollback

    old = Track(old_name, f"{APP}-{old_name}", old_replicas, rollout.stableVersion, {TRACK_LABEL: old_name})
    new = Track(new_name, f"{APP}-{new_name}", new_replicas, rollout.newVersion, {TRACK_LABEL: new_name})
    services = (all_pods, ServiceSpec(old_service, old.labels), ServiceSpec(new_service, new.labels))
    return RolloutPlan(strategy, provider, step, (old, new), services, weights, primary, weight, final)


def _at_rest(rollout: RolloutConfig, replicas: int, all_pods: ServiceSpec) -> RolloutPlan:
    """No rollout under way: one track serving everything."""
    if rollout.strategy == "rolling":
        track = Track("main", APP, replicas, rollout.stableVersion)
        return RolloutPlan("rolling", rollout.trafficProvider, 0, (track,), (all_pods,), {}, APP, 100, True)
    if rollout.strategy == "canary":
        track = Track("stable", f"{APP}-stable", replicas, rollout.stableVersion, {TRACK_LABEL: "stable"})
        service = ServiceSpec(f"{APP}-stable", track.labels)
    else:
        colour = rollout.blueGreen.activeColor
        track = Track(colour, f"{APP}-{colour}", replicas, rollout.stableVersion, {TRACK_LABEL: colour})
        service = ServiceSpec(f"{APP}-active", track.labels)
    return RolloutPlan(rollout.strategy, rollout.trafficProvider, 0, (track,), (all_pods, service), {}, service.name, 0, True)
