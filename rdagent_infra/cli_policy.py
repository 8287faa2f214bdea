"""`rdagent-infra policy check`: the pack's rules over plain manifests.

Teams run it on every pull request of every repository, often over thousands of files, so it
starts without the rest of the command line: no stack configuration models (pydantic), no
rollout client, no Pulumi SDK. rdagent_infra/cli.py hands `policy ...` straight to `policy_only`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

policy_app = typer.Typer(no_args_is_help=True, help="Run the policy pack's rules outside Pulumi.")


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


def policy_only() -> typer.Typer:
    """The command line with only its `policy` group: the same arguments, help and exit statuses."""
    only = typer.Typer(add_completion=False, no_args_is_help=True, help="Deploy RD-Agent to Kubernetes on AWS with Pulumi.")

    @only.callback()
    def _group() -> None:
        """Deploy RD-Agent to Kubernetes on AWS with Pulumi."""

    only.add_typer(policy_app, name="policy")
    return only
