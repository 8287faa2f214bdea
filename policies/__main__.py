"""Entry point the Pulumi engine runs (`python -m pulumi.policy <engine> <this folder>`)."""

import sys
from pathlib import Path

# The engine runs the pack from this folder; make the `policies` package importable from any program.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policies.pack import build_pack  # noqa: E402

build_pack()
