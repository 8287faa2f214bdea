"""`rdagent-infra synth` against a bare Pulumi program registering the same Kubernetes objects
under the SDK's mocks, at 10, 100 and 500 batch runs; whole processes, output included.

Per resource: wall and CPU seconds of the whole process divided by the resources it registers;
the ratio synth / bare at each size (target at 500: <= 1.3); growth: synth's per-resource
cost at 500 runs over that at 100 (target <= 1.2); peak RSS of synth at 500 runs.

    .venv/bin/python bench/synth_bench.py [REPEATS]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fixtures  # noqa: E402
import measure  # noqa: E402

SIZES = (10, 100, 500)
RATIO_TARGET = 1.3
GROWTH_TARGET = 1.2
PYTHON = str(fixtures.ROOT / ".venv" / "bin" / "python")
CLI = str(fixtures.ROOT / ".venv" / "bin" / "rdagent-infra")


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    per_resource: dict[int, tuple[float, float]] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as temp:
        work = Path(temp)
        for runs in SIZES:
            project = fixtures.stack_project(work / f"project-{runs}", runs)
            out = work / f"out-{runs}"
            synth = [CLI, "synth", "--stack", "test", "--out", str(out)]
            measure.run(synth, cwd=project)  # warm the file cache; also the bare program's input
            bare, resources = fixtures.bare_program(work / f"bare-{runs}", out)
            synth_sample, bare_sample = measure.interleaved(repeats, (synth, {"cwd": project}), ([PYTHON, *bare], {}))
            wall_ratio, cpu_ratio = synth_sample.wall / bare_sample.wall, synth_sample.cpu / bare_sample.cpu
            per_resource[runs] = (synth_sample.wall / resources, synth_sample.cpu / resources)
            print(
                f"synth {runs:>3} runs ({resources} resources): "
                f"{synth_sample.wall / resources * 1000:.2f} ms/resource wall, {synth_sample.cpu / resources * 1000:.2f} ms CPU; "
                f"bare SDK {bare_sample.wall / resources * 1000:.2f} ms wall, {bare_sample.cpu / resources * 1000:.2f} ms CPU; "
                f"ratio {wall_ratio:.2f}x wall, {cpu_ratio:.2f}x CPU" + (f" (target <= {RATIO_TARGET})" if runs == 500 else "")
            )
            if runs == 500:
                ok &= min(wall_ratio, cpu_ratio) <= RATIO_TARGET
                print(
                    f"synth peak RSS at 500 runs: {synth_sample.rss_mb:.0f} MB (bare SDK: {bare_sample.rss_mb:.0f} MB, ratio {synth_sample.rss_mb / bare_sample.rss_mb:.2f}x)"
                )
    growth_wall = per_resource[500][0] / per_resource[100][0]
    growth_cpu = per_resource[500][1] / per_resource[100][1]
    print(f"synth growth, per-resource cost at 500 runs / at 100: {growth_wall:.2f}x wall, {growth_cpu:.2f}x CPU (target <= {GROWTH_TARGET})")
    ok &= min(growth_wall, growth_cpu) <= GROWTH_TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
