"""Known-good workloads of every kind the pack checks, and one way to break them: for the pack's
tests, its benchmark (bench/policy_bench.py) and anyone trying a rule by hand.

    from rdagent_policies.examples import good_pod_spec, wrap
    token, props = wrap("Deployment", good_pod_spec())
"""

from __future__ import annotations

from rdagent_policies.manifest_check import type_token


def good_container(name="app"):
    return {
        "name": name,
        "image": "registry.example.com/app:1.2.3",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def good_pod_spec():
    return {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [good_container()],
    }


def wrap(kind: str, pod: dict) -> tuple[str, dict]:
    """A workload of `kind` around `pod`, with its type token."""
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod}
    specs = {
        "Pod": ("v1", pod),
        "Deployment": ("apps/v1", {"selector": {"matchLabels": {"app": "x"}}, "template": template}),
        "StatefulSet": ("apps/v1", {"selector": {"matchLabels": {"app": "x"}}, "serviceName": "x", "template": template}),
        "DaemonSet": ("apps/v1", {"selector": {"matchLabels": {"app": "x"}}, "template": template}),
        "ReplicaSet": ("apps/v1", {"selector": {"matchLabels": {"app": "x"}}, "template": template}),
        "Job": ("batch/v1", {"template": template}),
        "CronJob": ("batch/v1", {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}),
    }
    api_version, spec = specs[kind]
    return type_token(api_version, kind), {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "n"}, "spec": spec}


KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def root_pod(pod: dict) -> None:
    """Make `pod` run as root: a violation of run-as-non-root."""
    pod["securityContext"]["runAsUser"] = 0
    pod["containers"][0]["securityContext"].pop("runAsNonRoot")
