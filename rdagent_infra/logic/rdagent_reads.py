"""What the pinned `rdagent` package reads: its settings' environment variables and the options of
each `rdagent` command, from rdagent-reads.json beside this file.

That file is generated from the installed package (`.tools/rdagent/bin/python
scripts/rdagent_settings.py --snapshot`), and tests/test_rdagent_reads.py derives it again from the
package and fails when the two differ, so config is validated against what RD-Agent really reads.
"""

from __future__ import annotations

import json
from pathlib import Path

_DATA = json.loads(Path(__file__).with_name("rdagent-reads.json").read_text())

RDAGENT_VERSION: str = _DATA["version"]
SETTINGS: frozenset[str] = frozenset(_DATA["settings"])
CLI: dict[str, tuple[str, ...]] = {name: tuple(options) for name, options in _DATA["cli"].items()}


def options_of(command: str) -> tuple[str, ...]:
    """The `--options` of `rdagent COMMAND` (positional parameters appear as `<name>`)."""
    return CLI[command]


def positionals_of(command: str) -> tuple[str, ...]:
    return tuple(option[1:-1] for option in CLI[command] if option.startswith("<"))
