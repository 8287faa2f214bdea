"""Rollout arithmetic: the new version's share of traffic at each step of a strategy.

Plain functions over the validated rollout config; the stack model uses `rollout_steps` to
check `rollout.step`, and `plan_rollout` and the `rollout` command to move through the steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rdagent_infra.config.rollout import BlueGreenConfig, RolloutConfig


def blue_green_weights(blue_green: BlueGreenConfig) -> list[int]:
    """The seed's weighted switch: from the initial weight, +increment a step, 100 once >= the threshold.

    With the seed's numbers (10, +20, full switch at 90): [10, 30, 50, 70, 90, 100].
    """
    weights = []
    weight = blue_green.initialWeightPercent
    while weight < min(blue_green.fullSwitchPercent, 100):
        weights.append(weight)
        weight += blue_green.incrementPercent
    return [*weights, 100]


def rollout_steps(rollout: RolloutConfig) -> list[int]:
    """The new version's share of traffic at each step of the strategy.

    Blue-green has one step after the full switch: the old colour scales to zero.
    """
    if rollout.strategy == "canary":
        return [stage.weightPercent for stage in rollout.canary.stages]
    if rollout.strategy == "blueGreen":
        return [*blue_green_weights(rollout.blueGreen), 100]
    return [100]
