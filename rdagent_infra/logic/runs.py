"""How batch runs meet the engine: a Job is named by its content, and the engine never waits for it.

A Job's pod template is immutable, so any change to a run (image, command, settings) means a new
Job. Under one fixed name the engine would have to delete the running Job first, killing a run that
may have worked for hours. Named by a hash of its spec, the changed run is a new Job beside the old
one; the program retains the old one on delete (`retainOnDelete`), so it runs to its end and its
`ttlSecondsAfterFinished` removes it. `pulumi destroy` still removes every run with the namespace.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

APP = "rdagent-run"
# pulumi-kubernetes: create/update return at once instead of waiting for the Job to succeed.
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
HASH_LENGTH = 8
# A Job's name becomes the value of its pods' `batch.kubernetes.io/job-name` label: 63 at most.
MAX_JOB_NAME = 63


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:HASH_LENGTH]


def job_name(run_name: str, spec: dict[str, Any], queue_labels: dict[str, str] | None = None) -> str:
    """`rdagent-run-<run>-<hash of the spec and its queue labels>`, the run part shortened to keep the
    name a label value (without queue labels the hash is the spec's alone)."""
    base = f"{APP}-{run_name}"[: MAX_JOB_NAME - HASH_LENGTH - 1].rstrip("-")
    return f"{base}-{spec_hash({'spec': spec, 'queue': queue_labels} if queue_labels else spec)}"
