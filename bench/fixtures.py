"""What the benchmarks run on, built here (never from tests/): a project folder whose `test`
stack declares N batch runs, a bare Pulumi program registering the same Kubernetes objects, and
folders of one-object Deployment manifests for `policy check`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RUNS_KEY = "rdagent:workloads"


def batch_runs(count: int) -> list[dict]:
    """`count` CPU-only batch runs, alternating two scenarios (with and without a schedule)."""
    runs = []
    for index in range(count):
        run = {
            "name": f"run-{index:04d}",
            "scenario": "data_science" if index % 2 else "general_model",
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi", "gpu": 0}, "limits": {"cpu": "1000m", "memory": "2Gi", "gpu": 0}},
            "deadlineSeconds": 3600,
            "workspaceSize": "5Gi",
        }
        if run["scenario"] == "general_model":
            run["args"] = ["/data/paper.pdf"]  # `rdagent general_model` needs its report_file_path, on the data volume
        else:
            run.update(competition="titanic", allDurationMinutes=30)
        if index % 5 == 0:
            run["schedule"] = "0 2 * * *"
        runs.append(run)
    return runs


def stack_project(folder: Path, runs: int, stack: str = "test") -> Path:
    """A copy of the repo's project and `stack` file in `folder`, with `runs` batch runs."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    document["config"][RUNS_KEY]["runs"] = batch_runs(runs)
    (folder / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


BARE_PROGRAM = '''"""A bare Pulumi program under the SDK's mocks: the Kubernetes objects in objects.json through
pulumi_kubernetes' own classes, then small ConfigMaps up to `total` resources. Nothing else."""
import json
import sys

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import mocks



def argument(key):
    """pulumi_kubernetes' constructors take the top-level fields in snake case (string_data, automount_service_account_token)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


class Mocks(mocks.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}


def resource_class(token):
    _, group_version, kind = token.split(":")
    group, version = group_version.split("/")
    module = getattr(k8s, group.split(".")[0].replace("-", "_"), None)
    return getattr(getattr(module, version, None), kind, None)


def program():
    objects, total = json.loads(open(sys.argv[1]).read()), int(sys.argv[2])
    for token, name, inputs in objects:
        cls = resource_class(token)
        body = {argument(key): value for key, value in inputs.items() if key not in ("apiVersion", "kind")}
        if cls is None:  # a custom resource (ECK, Gateway API, ...)
            k8s.apiextensions.CustomResource(name, api_version=inputs["apiVersion"], kind=inputs["kind"], **body)
        else:
            cls(name, **body)
    for index in range(total - len(objects)):
        k8s.core.v1.ConfigMap(f"pad-{index}", metadata={"name": f"pad-{index}", "namespace": "bench"}, data={"k": "v"})


mocks.set_mocks(Mocks(), project="bench", stack="bench", preview=False)
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

_sync_await(run_pulumi_func(program))
'''


def bare_program(folder: Path, synth_out: Path) -> tuple[list[str], int]:
    """The bare program registering the Kubernetes objects synth wrote to `synth_out` (same
    types, names and inputs) plus ConfigMaps up to synth's resource count; its arguments and
    that count."""
    folder.mkdir(parents=True, exist_ok=True)
    resources = json.loads((synth_out / "resources.json").read_text())
    objects = [[r["type"], r["name"], r["inputs"]] for r in resources if r["type"].startswith("kubernetes:") and "apiVersion" in r["inputs"]]
    (folder / "objects.json").write_text(json.dumps(objects))
    (folder / "bare.py").write_text(BARE_PROGRAM)
    return [str(folder / "bare.py"), str(folder / "objects.json"), str(len(resources))], len(resources)


def deployment(index: int) -> dict:
    """A Deployment; every third one runs as root so findings (and their messages) are measured."""
    security = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    if index % 3 == 0:
        security = {"runAsUser": 0, "privileged": True}
    name = f"web-{index:05d}"
    container = {
        "name": "web",
        "image": f"registry.example.com/web:1.{index % 7}.0",
        "ports": [{"containerPort": 8080}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": security,
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "bench", "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container], "automountServiceAccountToken": False}},
        },
    }


def manifest_folder(folder: Path, count: int) -> Path:
    """`count` one-Deployment YAML files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"deployment-{index:05d}.yaml").write_text(yaml.safe_dump(deployment(index), sort_keys=False))
    return folder
