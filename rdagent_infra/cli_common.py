"""What every command shares: exit statuses, the --stack option, failing with a message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rdagent_infra.config import StackConfig

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml in the current folder.")]
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


def load_stack(stack: str) -> StackConfig:
    """The stack's validated config from Pulumi.<stack>.yaml in the current folder, or exit 2 with
    its problems. (Imported here, not at the top: `policy` shares this module and must start fast.)"""
    from pathlib import Path

    from rdagent_infra.config import ConfigError
    from rdagent_infra.stack_source import load_from_files

    try:
        config, _ = load_from_files(Path.cwd(), stack)
    except ConfigError as exc:
        fail(exc.problems)
    return config


def fail(lines: list[str], status: int = EXIT_USAGE) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(status)
