"""The load hook: a bounded Job that sends a configured number of requests to the new track's
Service, so a quiet service's canary step has data to judge (rollout.loadHook, off by default).

Bounded three ways: the request count (a loop of `requests` / `concurrency` requests per worker),
a per-request timeout, and the Job's activeDeadlineSeconds. One Job per step (its name carries the
step, so each step runs a fresh one); the engine does not wait for it (pulumi.com/skipAwait).
"""

from __future__ import annotations

from typing import Any

from rdagent_infra.config import LoadHookConfig
from rdagent_infra.logic.pods import container_security_context, pod_security_context, simple_resources

# busybox's wget: a small, well-known image with an HTTP client and a shell; a release tag, not latest.
LOAD_IMAGE = "busybox:1.37.0"
NOBODY = 65534
REQUEST_TIMEOUT_SECONDS = 10
LOAD_LABELS = {"app.kubernetes.io/name": "rdagent-ui-load", "app.kubernetes.io/component": "load-hook"}


def load_script(url: str, requests: int, concurrency: int) -> str:
    """A POSIX sh loop: `concurrency` workers share `requests` requests; failures are counted, not fatal."""
    per_worker, extra = divmod(requests, concurrency)
    return (
        "set -u\n"
        f"worker() {{ n=$1; i=0; while [ $i -lt $n ]; do wget -q -O /dev/null -T {REQUEST_TIMEOUT_SECONDS} '{url}' || echo failed; i=$((i+1)); done; }}\n"
        + "".join(f"worker {per_worker + (1 if index < extra else 0)} > /tmp/w{index} 2>&1 &\n" for index in range(concurrency))
        + "wait\n"
        + f'echo "sent {requests} request(s) to {url}, $(cat /tmp/w* | grep -c failed) failed"\n'
    )


def load_job(name: str, namespace: str, service: str, step: int, hook: LoadHookConfig) -> dict[str, Any]:
    """The Job's metadata and spec (plain Kubernetes dicts)."""
    url = f"http://{service}.{namespace}.svc:80{hook.path}"
    return {
        "metadata": {
            "name": f"{name}-step{step}",
            "namespace": namespace,
            "labels": LOAD_LABELS,
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": hook.timeoutSeconds,
            "template": {
                "metadata": {"labels": LOAD_LABELS},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(NOBODY, NOBODY),
                    "containers": [
                        {
                            "name": "load",
                            "image": LOAD_IMAGE,
                            "command": ["sh", "-c", load_script(url, hook.requests, hook.concurrency)],
                            "resources": simple_resources("50m", "16Mi", "200m", "64Mi"),
                            "securityContext": container_security_context(NOBODY, NOBODY),
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Mi"}}],
                },
            },
        },
    }
