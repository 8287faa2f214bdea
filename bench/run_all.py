"""`make bench`: every benchmark in turn; each prints its measurements with their ratios.
Exit status 1 when a target is missed or a benchmark could not run.

    .venv/bin/python bench/run_all.py [REPEATS]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ("synth_bench.py", "policy_check_bench.py", "engine_bench.py", "policy_bench.py")


def main() -> int:
    repeats = sys.argv[1:2]
    failed = []
    for bench in BENCHES:
        print(f"== {bench}", flush=True)
        if subprocess.run([sys.executable, str(HERE / bench), *(repeats if bench != "policy_bench.py" else [])]).returncode:
            failed.append(bench)
    print(f"== targets missed or not measured: {', '.join(failed)}" if failed else "== all targets met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
