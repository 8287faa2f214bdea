"""`rdagent-infra`: the project's command line (SPEC section 6). Thin: it parses arguments,
calls the layers below and turns their errors into messages and exit statuses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from rdagent_infra.config import ConfigError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Deploy RD-Agent to Kubernetes on AWS with Pulumi.")

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml in the current folder.")]
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
PrometheusOption = Annotated[str | None, typer.Option("--prometheus", help="Prometheus base URL (default: rdagent:monitoring.prometheusUrl).")]


@app.callback()
def _group() -> None:
    """Deploy RD-Agent to Kubernetes on AWS with Pulumi."""


def fail(lines: list[str], status: int = EXIT_USAGE) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(status)


@app.command()
def synth(
    stack: StackOption,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write manifests and resources.json into (replaced).")],
) -> None:
    """Run the program offline under Pulumi's mocks and write every Kubernetes object as YAML."""
    from rdagent_infra.stack_source import load_from_files
    from rdagent_infra.synth import OutputDirError, run_program, write_output

    try:
        config, project = load_from_files(Path.cwd(), stack)
    except ConfigError as exc:
        fail(exc.problems)
    result = run_program(config, project, stack)
    try:
        written = write_output(result, out)
    except OutputDirError as exc:
        fail([f"synth: {exc}"])
    typer.echo(f"synth: {len(result.registrations)} resources, {len(written)} Kubernetes objects written to {out}")


policy_app = typer.Typer(no_args_is_help=True, help="Run the policy pack's rules outside Pulumi.")
app.add_typer(policy_app, name="policy")


@policy_app.command("check")
def policy_check(
    paths: Annotated[list[Path], typer.Argument(help="Manifest files or folders (YAML, multi-document allowed).")],
    config: Annotated[Path | None, typer.Option("--config", help="A policy config JSON (policy name -> advisory|mandatory|disabled).")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text (one line a finding), json, sarif (2.1.0) or junit.")] = "text",
) -> None:
    """Check plain Kubernetes manifests with the policy pack's rules; exit 1 when a mandatory policy fails."""
    import sys

    from rdagent_policies.cli import run_check

    status = run_check(paths, config, output_format, sys.stdout, sys.stderr)
    if status:
        raise typer.Exit(status)


rollout_app = typer.Typer(no_args_is_help=True, help="Move a canary or blue-green rollout on its gates.")
app.add_typer(rollout_app, name="rollout")


def _load(stack: str):
    from rdagent_infra.stack_source import load_from_files

    try:
        config, _ = load_from_files(Path.cwd(), stack)
    except ConfigError as exc:
        fail(exc.problems)
    return config


def _gate_results(config, plan, prometheus: str | None):
    from rdagent_infra.logic.gates import gates_for
    from rdagent_infra.prometheus import Prometheus

    with Prometheus(prometheus or config.monitoring.prometheusUrl) as client:
        return client.evaluate(gates_for(config, plan))


def _print_plan(plan) -> None:
    typer.echo(f"strategy: {plan.strategy}, step {plan.step}, new version at {plan.new_weight}% of traffic ({plan.provider})")
    for track in plan.tracks:
        typer.echo(f"  {track.deployment}: {track.replicas} replica(s), version {track.version or '(images.version)'}")
    for service, weight in plan.weights.items():
        typer.echo(f"  route -> {service}: {weight}%")


def _apply(move, stack: str, config) -> None:
    from rdagent_infra.rollouts import RolloutError, apply_move

    typer.echo(f"rollout: {move.summary}")
    try:
        apply_move(move, stack, config.tier.value, Path.cwd(), lambda line: typer.echo(line))
    except RolloutError as exc:
        fail([f"rollout: {exc}"])


def _move_now(stack: str, make_move) -> None:
    """Load the stack, make the move `make_move(config)` describes, and apply it."""
    from rdagent_infra.rollouts import RolloutError

    config = _load(stack)
    try:
        move = make_move(config)
    except RolloutError as exc:
        fail([f"rollout: {exc}"])
    _apply(move, stack, config)


@rollout_app.command("status")
def rollout_status(stack: StackOption, prometheus: PrometheusOption = None) -> None:
    """Print the rollout's step, weights and the current step's gate results."""
    from rdagent_infra.prometheus import PrometheusError
    from rdagent_infra.rollouts import current_plan

    config = _load(stack)
    plan = current_plan(config)
    _print_plan(plan)
    if len(plan.tracks) < 2:
        return
    try:
        for result in _gate_results(config, plan, prometheus):
            typer.echo(f"  gate {result.line()}")
    except PrometheusError as exc:
        typer.echo(f"  gates: unavailable: {exc}")


@rollout_app.command("start")
def rollout_start(stack: StackOption, version: Annotated[str, typer.Option("--version", help="The new version to roll out.")]) -> None:
    """Start rolling out a new version: step 0 of the canary or blue-green plan."""
    from datetime import UTC, datetime

    from rdagent_infra.rollouts import start

    _move_now(stack, lambda config: start(config, version, datetime.now(UTC)))


@rollout_app.command("advance")
def rollout_advance(
    stack: StackOption,
    prometheus: PrometheusOption = None,
    force: Annotated[bool, typer.Option("--force", help="Advance on passing gates even if the step has not run its full duration.")] = False,
) -> None:
    """Check the current step's gates: on failure abort; on pass, once the step has run its duration,
    move to the next step (or promote)."""
    from datetime import UTC, datetime

    from rdagent_infra.prometheus import PrometheusError
    from rdagent_infra.rollouts import RolloutError, abortion, advancement, current_plan, time_left

    config = _load(stack)
    now = datetime.now(UTC)
    try:
        move = advancement(config, now)
    except RolloutError as exc:
        fail([f"rollout: {exc}"])
    plan = current_plan(config)
    try:
        results = _gate_results(config, plan, prometheus)
    except PrometheusError as exc:
        fail([f"rollout: {exc}", "rollout: no change made"], EXIT_UNAVAILABLE)
    for result in results:
        typer.echo(f"gate {result.line()}")
    failed = [result for result in results if not result.passed]
    if failed:
        _apply(abortion(config), stack, config)
        fail([f"rollout: aborted: gate failed: {result.gate.describe(result.value)}" for result in failed], EXIT_FINDINGS)
    left = time_left(config, now)
    if left is not None and not force:
        minutes = int(left.total_seconds() // 60) + 1
        fail(
            [
                f"rollout: the gates pass so far, but step {plan.step} must run about {minutes} more minute(s); run advance again then",
                "rollout: no change made",
            ],
            EXIT_UNAVAILABLE,
        )
    if config.rollout.stepStartedAt is None:
        typer.echo(f"rollout: the start of step {plan.step} is unknown (rdagent:rollout.stepStartedAt): the gates judged the last window only")
    _apply(move, stack, config)


@rollout_app.command("promote")
def rollout_promote(stack: StackOption) -> None:
    """Make the new version stable now (remove the canary, or switch the active colour)."""
    from rdagent_infra.rollouts import promotion

    _move_now(stack, promotion)


@rollout_app.command("abort")
def rollout_abort(stack: StackOption) -> None:
    """Send all traffic back to the stable version and drop the new one."""
    from rdagent_infra.rollouts import abortion

    _move_now(stack, abortion)


@app.command()
def preflight(
    stack: StackOption,
    scan: Annotated[bool, typer.Option("--scan/--no-scan", help="Run the security scan (synth, policy pack, checkov).")] = True,
) -> None:
    """The seed's pre-deployment checklist, checked from the stack; exit 1 on any failed item."""
    from rich.console import Console
    from rich.table import Table

    from rdagent_infra.preflight import FAIL, run_checklist

    items = run_checklist(Path.cwd(), stack, scan=scan)
    table = Table(title=f"preflight: {stack}", show_lines=False)
    for column in ("item", "result", "why"):
        table.add_column(column, overflow="fold")
    styles = {"pass": "green", "fail": "bold red", "n/a": "dim"}
    for item in items:
        table.add_row(item.name, f"[{styles[item.status]}]{item.status}[/]", item.reason)
    Console(width=160).print(table)
    failed = [item.name for item in items if item.status == FAIL]
    if failed:
        fail([f"preflight: failed: {', '.join(failed)}"], EXIT_FINDINGS)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
