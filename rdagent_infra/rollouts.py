"""`rdagent-infra rollout`: move a canary or blue-green rollout on its gates.

A move is a set of stack-config changes (`plan_move`, pure); `apply_move` writes them into the stack
through the Pulumi Automation API and runs the update with the policy pack, on the engine that
scripts/engine-toolchain.sh built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.rollout import RolloutPlan, plan_rollout
from rdagent_infra.logic.steps import rollout_steps

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
PREFIX = "rdagent:rollout."


class RolloutError(Exception):
    """The move cannot be made (no rollout under way, nothing to promote, ...)."""


@dataclass(frozen=True)
class Move:
    summary: str
    # rollout key -> new value; None removes the key.
    changes: dict[str, str | None]


def current_plan(config: StackConfig) -> RolloutPlan:
    return plan_rollout(config.rollout, config.workloads.ui.replicas)


def _in_progress(config: StackConfig) -> None:
    rollout = config.rollout
    if rollout.strategy == "rolling":
        raise RolloutError("the stack uses rolling updates (rdagent:rollout.strategy is rolling): there is nothing to move")
    if not rollout.newVersion:
        raise RolloutError("no rollout is under way: set rdagent:rollout.newVersion to start one")


def _stamp(now: datetime) -> str:
    return now.isoformat(timespec="seconds")


def step_duration(config: StackConfig, plan: RolloutPlan) -> timedelta:
    """How long the current step must run before its gates can pass it."""
    if plan.strategy == "canary":
        return timedelta(minutes=config.rollout.canary.stages[plan.step].durationMinutes)
    if plan.final:  # the old colour is at zero, kept for rollback this long before promotion removes it
        return timedelta(minutes=config.rollout.blueGreen.scaleDownDelayMinutes)
    return timedelta(minutes=config.rollout.blueGreen.stepDurationMinutes)


def time_left(config: StackConfig, now: datetime) -> timedelta | None:
    """How much longer the current step must run; None when it is done or its start is unknown."""
    started = config.rollout.stepStartedAt
    if started is None:
        return None
    left = started + step_duration(config, current_plan(config)) - now
    return left if left > timedelta(0) else None


def start(config: StackConfig, version: str, now: datetime) -> Move:
    rollout = config.rollout
    if rollout.strategy == "rolling":
        raise RolloutError("the stack uses rolling updates: set rdagent:rollout.strategy to canary or blueGreen first")
    if rollout.newVersion:
        raise RolloutError(f"a rollout of {rollout.newVersion} is under way: promote or abort it first")
    if version == (rollout.stableVersion or config.images.version):
        raise RolloutError(f"{version} is already the stable version")
    weight = rollout_steps(rollout)[0]
    return Move(f"start {version}: {weight}% of traffic at step 0", {"newVersion": version, "step": "0", "stepStartedAt": _stamp(now)})


def promotion(config: StackConfig) -> Move:
    _in_progress(config)
    rollout = config.rollout
    changes: dict[str, str | None] = {"stableVersion": rollout.newVersion, "newVersion": None, "step": "0", "stepStartedAt": None}
    if rollout.strategy == "blueGreen":
        changes["blueGreen.activeColor"] = "green" if rollout.blueGreen.activeColor == "blue" else "blue"
    return Move(f"promote {rollout.newVersion}: it becomes the stable version", changes)


def abortion(config: StackConfig) -> Move:
    _in_progress(config)
    return Move(
        f"abort {config.rollout.newVersion}: all traffic back to {config.rollout.stableVersion or 'the stable version'}",
        {"newVersion": None, "step": "0", "stepStartedAt": None},
    )


def advancement(config: StackConfig, now: datetime) -> Move:
    """The move after the current step's gates passed."""
    _in_progress(config)
    plan = current_plan(config)
    if plan.final:
        if plan.strategy == "canary" and not config.rollout.canary.stages[plan.step].autoPromote:
            raise RolloutError("the last canary stage does not auto-promote: run rollout promote to finish")
        return promotion(config)
    step = plan.step + 1
    weight = rollout_steps(config.rollout)[step]
    return Move(f"advance to step {step}: {weight}% of traffic to {config.rollout.newVersion}", {"step": str(step), "stepStartedAt": _stamp(now)})


def engine_environment(work_dir: Path) -> dict[str, str]:
    """The offline engine settings scripts/pulumi uses; values already in the environment win."""
    return {
        "PULUMI_HOME": os.environ.get("PULUMI_HOME", str(TOOLS / "pulumi-home")),
        "PULUMI_BACKEND_URL": os.environ.get("PULUMI_BACKEND_URL", f"file://{ROOT / '.pulumi-state'}"),
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "rdagent-local"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PATH": f"{TOOLS / 'bin'}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def apply_move(move: Move, stack_name: str, tier: str, work_dir: Path, echo: Callable[[str], None]) -> None:
    """Write the move into the stack's config and run `pulumi up` with the policy pack."""
    from pulumi import automation as auto

    if not (TOOLS / "bin" / "pulumi").exists():
        raise RolloutError("the Pulumi engine is not built: run make up (scripts/engine-toolchain.sh)")
    env = engine_environment(work_dir)
    backend = env["PULUMI_BACKEND_URL"]
    if backend.startswith("file://"):
        Path(backend[len("file://") :]).mkdir(parents=True, exist_ok=True)
    options = auto.LocalWorkspaceOptions(
        work_dir=str(work_dir),
        pulumi_home=env["PULUMI_HOME"],
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(TOOLS)),
    )
    stack = auto.create_or_select_stack(stack_name=stack_name, work_dir=str(work_dir), opts=options)
    for key, value in move.changes.items():
        if value is None:
            stack.remove_config(PREFIX + key, path=True)
        else:
            stack.set_config(PREFIX + key, auto.ConfigValue(value), path=True)
    stack.up(
        on_output=echo,
        policy_packs=[str(ROOT / "policies")],
        policy_pack_configs=[str(ROOT / "policies" / "config" / f"policy-config.{tier}.json")],
    )
