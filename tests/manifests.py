"""Reading what synth wrote, for assertions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def load_manifests(directory: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yaml"))]


def load_resources(directory: Path) -> list[dict[str, Any]]:
    return json.loads((directory / "resources.json").read_text())


def find(manifests: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def one(manifests: list[dict], kind: str, name: str) -> dict:
    found = find(manifests, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}: {[m['metadata']['name'] for m in find(manifests, kind)]}"
    return found[0]


def pod_spec(manifest: dict) -> dict:
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if manifest["kind"] == "Pod":
        return spec
    return spec["template"]["spec"]


def replicas_of(manifests: list[dict], deployment: str) -> int:
    """A Deployment's replica count: its own, or the minimum of the HPA that owns it."""
    spec = one(manifests, "Deployment", deployment)["spec"]
    if "replicas" in spec:
        return spec["replicas"]
    owners = [h for h in find(manifests, "HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == deployment]
    assert owners, f"Deployment/{deployment} has no replicas and no HPA"
    return owners[0]["spec"]["minReplicas"]
