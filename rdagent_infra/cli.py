"""`rdagent-infra`: the project's command line (SPEC section 6), entry point.

`policy ...` starts with only what it needs (rdagent_infra/cli_policy.py); every other command
loads the whole tree (rdagent_infra/cli_app.py). `from rdagent_infra.cli import app` still gives
the whole tree.
"""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    if sys.argv[1:2] == ["policy"]:
        from rdagent_infra.cli_policy import policy_only

        policy_only()()
        return
    from rdagent_infra.cli_app import app

    app()


def __getattr__(name: str) -> Any:
    if name == "app":
        from rdagent_infra.cli_app import app

        return app
    raise AttributeError(name)


if __name__ == "__main__":
    main()
