"""Policy evaluation speed: every workload policy over N workload resources of all seven types.

Prints resources per second and the ratio to a baseline measured in the same run (a JSON round
trip of the same resources, the cheapest honest "touch every field" pass), so the number means
something on a noisy machine. Target: over 5,000 resources per second.

    .venv/bin/python bench/policy_bench.py [N]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rdagent_policies import rules  # noqa: E402
from rdagent_policies.examples import KINDS, good_pod_spec, root_pod, wrap  # noqa: E402

TARGET_PER_SECOND = 5000


def workloads(count: int) -> list[tuple[str, dict]]:
    resources = []
    for index in range(count):
        pod = good_pod_spec()
        if index % 3 == 0:
            root_pod(pod)  # a third violate, so message building is measured too
        resources.append(wrap(KINDS[index % len(KINDS)], pod))
    return resources


def best_of(runs: int, work) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    resources = workloads(count)
    findings = 0

    def evaluate_all():
        nonlocal findings
        findings = 0
        for token, props in resources:
            for policy in rules.WORKLOAD_POLICIES:
                findings += len(rules.evaluate(policy, token, props))

    baseline = best_of(3, lambda: [json.loads(json.dumps(props)) for _, props in resources])
    measured = best_of(3, evaluate_all)
    per_second = count / measured
    print(f"resources: {count} ({len(rules.WORKLOAD_POLICIES)} policies each), findings: {findings}")
    print(f"policy evaluation: {measured:.3f} s, {per_second:,.0f} resources/s (target > {TARGET_PER_SECOND:,})")
    print(f"baseline (JSON round trip): {baseline:.3f} s; evaluation / baseline = {measured / baseline:.2f}x")
    return 0 if per_second > TARGET_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
