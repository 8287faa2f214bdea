"""The real engine: `pulumi preview --stack test` of this project against `pulumi preview` of an
empty Python program, same toolchain (scripts/pulumi: our built engine and plugins), each on a
temporary file backend; whole processes. The ratio is what our program adds to the engine's
fixed cost.

    .venv/bin/python bench/engine_bench.py [REPEATS]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fixtures  # noqa: E402
import measure  # noqa: E402

PULUMI = str(fixtures.ROOT / "scripts" / "pulumi")
EMPTY_PROJECT = "name: bench-empty\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {venv}\n"


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if not (fixtures.ROOT / ".tools" / "bin" / "pulumi").exists():
        print("engine preview: not measured: the engine is not built (make engine)")
        return 1
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as temp:
        work = Path(temp)
        env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{work / 'state'}"}
        empty = work / "empty"
        empty.mkdir()
        (empty / "Pulumi.yaml").write_text(EMPTY_PROJECT.format(venv=fixtures.ROOT / ".venv"))
        (empty / "__main__.py").write_text("")
        measure.run([PULUMI, "stack", "select", "--create", "test"], cwd=fixtures.ROOT, env=env)
        measure.run([PULUMI, "stack", "select", "--create", "bench"], cwd=empty, env=env)
        ours = [PULUMI, "preview", "--stack", "test", "--non-interactive"]
        bare = [PULUMI, "preview", "--stack", "bench", "--non-interactive"]
        ours_sample, bare_sample = measure.interleaved(repeats, (ours, {"cwd": fixtures.ROOT, "env": env}), (bare, {"cwd": empty, "env": env}))
    print(
        f"engine preview --stack test: {ours_sample.wall:.2f} s wall, {ours_sample.cpu:.2f} s CPU, peak RSS {ours_sample.rss_mb:.0f} MB; "
        f"empty program: {bare_sample.wall:.2f} s wall, {bare_sample.cpu:.2f} s CPU; "
        f"ratio {ours_sample.wall / bare_sample.wall:.2f}x wall, {ours_sample.cpu / bare_sample.cpu:.2f}x CPU"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
