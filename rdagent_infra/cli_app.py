"""The whole `rdagent-infra` command tree (SPEC section 6). Thin: it parses arguments, calls the
layers below and turns their errors into messages and exit statuses. `rdagent_infra.cli` is the
entry point; `policy` lives in rdagent_infra/cli_policy.py (it must start fast, see there)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rdagent_infra.cli_common import EXIT_FINDINGS, StackOption, fail
from rdagent_infra.cli_policy import policy_app
from rdagent_infra.config import ConfigError
from rdagent_infra.rollout_cli import rollout_app
from rdagent_infra.runs_cli import runs_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Deploy RD-Agent to Kubernetes on AWS with Pulumi.")


@app.callback()
def _group() -> None:
    """Deploy RD-Agent to Kubernetes on AWS with Pulumi."""


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
    if config.cluster.mode == "eks":
        # The cluster this stack creates has no CRDs of its own: every custom resource must wait for
        # the chart that installs its kind (rdagent_infra/logic/crd_servers.py).
        from rdagent_infra.logic.crd_servers import unserved

        found = unserved(result.registrations)
        if found:
            fail([f"synth --stack {stack}: {problem.message()}" for problem in found])
    try:
        written = write_output(result, out)
    except OutputDirError as exc:
        fail([f"synth: {exc}"])
    typer.echo(f"synth: {len(result.registrations)} resources, {len(written)} Kubernetes objects written to {out}")


app.add_typer(policy_app, name="policy")
app.add_typer(rollout_app, name="rollout")
app.add_typer(runs_app, name="runs")


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
