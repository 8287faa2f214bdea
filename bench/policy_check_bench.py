"""`rdagent-infra policy check` against checkov (`--framework kubernetes`) on the same generated
one-Deployment files, at 1,000 and 10,000 objects; whole processes, parsing included.

Prints objects/s (wall and CPU), peak RSS and the ratios to checkov measured in the same run;
also our check in one process (`jobs=1`) to show whether the worker processes pay. Targets at
10,000: >= 5,000 objects/s, >= 50x checkov, memory < 10% of checkov's.

    .venv/bin/python bench/policy_check_bench.py [REPEATS] [SIZES...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fixtures  # noqa: E402
import measure  # noqa: E402

RATE_TARGET, SPEEDUP_TARGET, MEMORY_TARGET = 5000, 50, 0.10
CLI = str(fixtures.ROOT / ".venv" / "bin" / "rdagent-infra")
PYTHON = str(fixtures.ROOT / ".venv" / "bin" / "python")
CHECKOV = str(fixtures.ROOT / ".tools" / "checkov" / "bin" / "checkov")
ONE_PROCESS = (
    "import sys; from pathlib import Path; from rdagent_policies import manifest_check as m; m.check([Path(sys.argv[1])], m.load_levels(None), jobs=1)"
)


def line(label: str, count: int, sample: measure.Sample) -> str:
    return f"{label}: {count / sample.wall:,.0f} objects/s wall ({sample.wall:.2f} s), {count / sample.cpu:,.0f} objects/s CPU, peak RSS {sample.rss_mb:.0f} MB"


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    sizes = [int(size) for size in sys.argv[2:]] or [1000, 10_000]
    ok = True
    with tempfile.TemporaryDirectory(prefix="policy-bench-") as temp:
        for count in sizes:
            folder = fixtures.manifest_folder(Path(temp) / f"m{count}", count)
            ours = [CLI, "policy", "check", str(folder)]
            checkov = [CHECKOV, "--framework", "kubernetes", "--quiet", "--compact", "--skip-download", "-d", str(folder)]
            # Exit status 1: the findings the corpus has on purpose.
            findings = {"ok": (1,)}
            ours_sample, one_sample = measure.interleaved(repeats, (ours, findings), ([PYTHON, "-c", ONE_PROCESS, str(folder)], {}))
            checkov_sample = measure.repeated(1, checkov, **findings)  # minutes at 10,000; once
            print(line(f"policy check {count:>6} objects", count, ours_sample))
            print(line("  same, one process (jobs=1)", count, one_sample) + f"; workers pay {one_sample.wall / ours_sample.wall:.2f}x wall")
            print(line(f"  checkov {count:>6} objects", count, checkov_sample))
            speedup_wall, speedup_cpu = checkov_sample.wall / ours_sample.wall, checkov_sample.cpu / ours_sample.cpu
            memory = ours_sample.rss_mb / checkov_sample.rss_mb
            print(f"  ratio: {speedup_wall:.1f}x faster than checkov (wall), {speedup_cpu:.1f}x (CPU); memory {memory:.1%} of checkov's")
            if count == 10_000:
                rate = count / min(ours_sample.wall, ours_sample.cpu)
                ok &= rate >= RATE_TARGET and max(speedup_wall, speedup_cpu) >= SPEEDUP_TARGET and memory < MEMORY_TARGET
                print(f"  targets: >= {RATE_TARGET:,} objects/s, >= {SPEEDUP_TARGET}x checkov, memory < {MEMORY_TARGET:.0%}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
