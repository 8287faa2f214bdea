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
) -> None:
    """Check plain Kubernetes manifests with the policy pack's rules; exit 1 when a mandatory policy fails."""
    from policies.manifest_check import ManifestError, check, load_levels

    try:
        findings = check(paths, load_levels(config))
    except ManifestError as exc:
        fail([f"policy check: {exc}"])
    for finding in findings:
        typer.echo(finding.line())
    mandatory = sum(1 for f in findings if f.level == "mandatory")
    typer.echo(f"policy check: {mandatory} mandatory, {len(findings) - mandatory} advisory finding(s)", err=True)
    if mandatory:
        raise typer.Exit(EXIT_FINDINGS)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
