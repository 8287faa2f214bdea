"""`rdagent-infra rollout ...`: status, start, advance (one analysis), run (drive to promotion or
abort), promote, abort. Exit statuses: 0 moved or done, 1 aborted or a failed move, 2 bad input,
3 waiting / unavailable (nothing changed)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from rdagent_infra import rollout_journal as journal
from rdagent_infra.cli_common import EXIT_FINDINGS, EXIT_UNAVAILABLE, StackOption, fail, load_stack
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.gates import analysis_for
from rdagent_infra.logic.verdicts import Action, Verdict
from rdagent_infra.prometheus import Prometheus, PrometheusError
from rdagent_infra.rollouts import (
    Move,
    RolloutError,
    UnsafeEngineSettings,
    abortion,
    analysis_interval,
    apply_move,
    count_changes,
    current_plan,
    judge_step,
    promotion,
    record,
    start,
    time_left,
)

rollout_app = typer.Typer(no_args_is_help=True, help="Move a canary or blue-green rollout on its gates.")
PrometheusOption = Annotated[str | None, typer.Option("--prometheus", help="Prometheus base URL (default: rdagent:monitoring.prometheusUrl).")]


def _judge(config: StackConfig, prometheus: str | None) -> Verdict | None:
    analysis = analysis_for(config, current_plan(config))
    if analysis is None:
        return None
    with Prometheus(prometheus or config.monitoring.prometheusUrl) as client:
        return client.judge(analysis)


def _print_plan(plan) -> None:
    typer.echo(f"strategy: {plan.strategy}, step {plan.step}, new version at {plan.new_weight}% of traffic ({plan.provider})")
    for track in plan.tracks:
        typer.echo(f"  {track.deployment}: {track.replicas} replica(s), version {track.version or '(images.version)'}")
    for service, weight in plan.weights.items():
        typer.echo(f"  route -> {service}: {weight}%")


def _apply(move: Move, stack: str, config: StackConfig) -> None:
    from rdagent_infra.rollouts import missing_cluster_apis

    try:
        missing = missing_cluster_apis(config, move)
    except RolloutError as exc:
        fail([f"rollout: {exc}", "rollout: no change made"], EXIT_UNAVAILABLE)
    if missing:
        fail([*(f"rollout: {problem}" for problem in missing), "rollout: no change made"])
    typer.echo(f"rollout: {move.summary}")
    try:
        apply_move(move, stack, config.tier.value, Path.cwd(), lambda line: typer.echo(line))
    except UnsafeEngineSettings as exc:
        fail([f"rollout: {exc}", "rollout: no change made"])
    except RolloutError as exc:
        fail([f"rollout: {exc}"], EXIT_FINDINGS)


def _move_now(stack: str, make_move) -> None:
    config = load_stack(stack)
    try:
        move = make_move(config)
    except RolloutError as exc:
        fail([f"rollout: {exc}"])
    _apply(move, stack, config)


@rollout_app.command("status")
def rollout_status(stack: StackOption, prometheus: PrometheusOption = None) -> None:
    """Print the rollout's step, weights and the current step's analysis."""
    config = load_stack(stack)
    plan = current_plan(config)
    interrupted = journal.read(Path.cwd(), stack)
    if interrupted is not None:
        typer.echo(f"rollout: interrupted: {interrupted.line()}.")
        typer.echo("rollout: the stack file holds the move, the cluster may hold only part of it; what the stack file says:")
    _print_plan(plan)
    if interrupted is not None:
        typer.echo("rollout: run rollout run to finish the move (or rollout abort to go back); see docs/runbook.md")
        return
    if len(plan.tracks) < 2:
        return
    typer.echo(f"  analyses: {config.rollout.failedAnalyses} failing, {config.rollout.inconclusiveAnalyses} inconclusive after the step's duration")
    try:
        verdict = _judge(config, prometheus)
    except PrometheusError as exc:
        typer.echo(f"  gates: unavailable: {exc}")
        return
    if verdict is not None:
        typer.echo(f"  analysis {verdict.line()}")


@rollout_app.command("start")
def rollout_start(stack: StackOption, version: Annotated[str, typer.Option("--version", help="The new version to roll out.")]) -> None:
    """Start rolling out a new version: step 0 of the canary or blue-green plan."""
    _move_now(stack, lambda config: start(config, version, datetime.now(UTC)))


def _analyse_once(stack: str, config: StackConfig, prometheus: str | None, force: bool) -> tuple[Action, str]:
    """One analysis and its decision; moves (advance, abort) are applied, counts recorded.
    Returns the action and a line for the user."""
    now = datetime.now(UTC)
    plan = current_plan(config)
    verdict = _judge(config, prometheus)
    if verdict is None:
        raise RolloutError("the rollout has a single track: there is nothing to analyse")
    decision, move = judge_step(config, verdict, now, force)
    typer.echo(f"rollout: step {plan.step} ({plan.new_weight}% to {config.rollout.newVersion}): analysis {verdict.line()}")
    typer.echo(f"rollout: decision: {decision.action.value}: {decision.reason}")
    if move is not None:
        _apply(move, stack, config)
        return decision.action, move.summary
    changes = count_changes(config, decision.counts)
    if changes:
        record(changes, stack, config.tier.value, Path.cwd())
    left = time_left(config, now)
    wait = f"step {plan.step} has about {int(left.total_seconds()) + 1}s to run" if left else "the step has run its duration"
    return decision.action, wait


@rollout_app.command("advance")
def rollout_advance(
    stack: StackOption,
    prometheus: PrometheusOption = None,
    force: Annotated[bool, typer.Option("--force", help="Advance on passing gates even if the step has not run its full duration.")] = False,
) -> None:
    """One analysis of the current step: advance (or promote) on a pass once the step has run its
    duration, abort at the failure or inconclusive limit, otherwise wait (exit 3)."""
    config = load_stack(stack)
    try:
        action, detail = _analyse_once(stack, config, prometheus, force)
    except PrometheusError as exc:
        fail([f"rollout: {exc}", "rollout: no change made"], EXIT_UNAVAILABLE)
    except RolloutError as exc:
        fail([f"rollout: {exc}"])
    if action == Action.ABORT:
        fail([f"rollout: aborted: {config.rollout.newVersion} rolled back"], EXIT_FINDINGS)
    if action == Action.WAIT:
        fail([f"rollout: waiting: {detail}; run advance again later", "rollout: no change made to the stack's resources"], EXIT_UNAVAILABLE)


@rollout_app.command("run")
def rollout_run(
    stack: StackOption,
    prometheus: PrometheusOption = None,
    max_minutes: Annotated[float, typer.Option("--max-minutes", help="Give up (exit 3, nothing changed) after this long.")] = 24 * 60,
) -> None:
    """Drive the rollout from its current step to promotion or abort, analysing every
    rollout.analysis.intervalSeconds and honouring each step's duration. The state stays in the
    stack config: stopping this command (even killing it) and starting it again resumes."""
    deadline = time.monotonic() + max_minutes * 60
    interrupted = journal.read(Path.cwd(), stack)
    if interrupted is not None:
        typer.echo(f"rollout run: finishing the interrupted move ({interrupted.summary}): {interrupted.line()}")
        _apply(Move(f"finish {interrupted.summary}", interrupted.changes), stack, load_stack(stack))
    version = load_stack(stack).rollout.newVersion
    if not version:
        fail(["rollout run: no rollout is under way: run rollout start first"])
    while True:
        config = load_stack(stack)
        if not config.rollout.newVersion:
            if config.rollout.stableVersion == version:
                typer.echo(f"rollout run: {version} is promoted")
                return
            fail([f"rollout run: {version} was aborted: all traffic is on {config.rollout.stableVersion or 'the stable version'}"], EXIT_FINDINGS)
        try:
            action, detail = _analyse_once(stack, config, prometheus, force=False)
        except PrometheusError as exc:
            action, detail = Action.WAIT, f"gates unavailable ({exc})"
        except RolloutError as exc:
            fail([f"rollout run: {exc}"], EXIT_UNAVAILABLE)
        if action == Action.ABORT:
            fail([f"rollout run: aborted: {version} rolled back"], EXIT_FINDINGS)
        if action == Action.ADVANCE:
            continue
        if time.monotonic() > deadline:
            fail([f"rollout run: stopped after {max_minutes:g} minute(s) while waiting ({detail}); run it again to resume"], EXIT_UNAVAILABLE)
        pause = analysis_interval(config)
        typer.echo(f"rollout run: waiting {pause:g}s: {detail}")
        time.sleep(pause)


@rollout_app.command("promote")
def rollout_promote(stack: StackOption) -> None:
    """Make the new version stable now (remove the canary, or switch the active colour)."""
    _move_now(stack, promotion)


@rollout_app.command("abort")
def rollout_abort(stack: StackOption) -> None:
    """Send all traffic back to the stable version and drop the new one."""
    _move_now(stack, abortion)
