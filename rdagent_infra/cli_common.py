"""What every command shares: exit statuses, the --stack option, failing with a message."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: reads Pulumi.<stack>.yaml in the current folder.")]
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


def fail(lines: list[str], status: int = EXIT_USAGE) -> NoReturn:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(status)
