"""Karpenter beside the test control plane: the real Karpenter core of our chart (v1.9.0) with its
kwok cloud provider (scripts/karpenter-toolchain.sh), run outside the cluster, provisioning from the
program's own NodePool.

What stands in for what:
- EC2 is Karpenter's kwok cloud provider: for a NodeClaim it creates a Node object (annotated
  `kwok.x-k8s.io/node: fake`, so the control plane's kwok makes it Ready and runs its pods) with the
  NodeClaim's labels and the resources of the instance type it chose. Its instance types come from a
  file written here from AWS's published sizes of the types the stack names (INSTANCE_TYPES).
- The NodePool is the one the program renders for the stack, with two changes: its `nodeClassRef`
  names a KWOKNodeClass instead of the EC2NodeClass (which only AWS's provider serves), and, where a
  test says so, a shorter `consolidateAfter` so that an empty node goes in seconds, not minutes.
What this shows is Karpenter's own scheduling, limits and disruption against our NodePool, not EC2's
capacity, prices or launch times.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import subprocess
from pathlib import Path

import yaml

from tests.cluster import ClusterError, ControlPlane, stop_group, wait_for
from tests.conftest import ROOT
from tests.crds import CRD_PATH, established, upstream
from tests.ports import PortTaken, bind_failed, on_free_ports

BINARY = ROOT / ".tools" / "bin" / "karpenter-kwok"
BUILD_HINT = "run make cluster-tools (scripts/karpenter-toolchain.sh)"
NODE_POOLS = "/apis/karpenter.sh/v1/nodepools"
NODE_CLAIMS = "/apis/karpenter.sh/v1/nodeclaims"
NODE_CLASSES = "/apis/karpenter.kwok.sh/v1alpha1/kwoknodeclasses"
CRDS = (("karpenter.sh", "nodepools"), ("karpenter.sh", "nodeclaims"), ("karpenter.kwok.sh", "kwoknodeclasses"))
ZONE = "us-east-1a"
START_TIMEOUT = 60
# AWS's published sizes (EC2 accelerated computing instance types: vCPUs, memory, NVIDIA A10G GPUs),
# written here by hand, for the GPU types the stacks name.
INSTANCE_TYPES = {
    "g5.xlarge": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
    "g5.2xlarge": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"},
    "g5.4xlarge": {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": "1"},
    "g5.12xlarge": {"cpu": "48", "memory": "192Gi", "nvidia.com/gpu": "4"},
}


def instance_types_file(names: list[str]) -> list[dict]:
    """Karpenter's kwok instance-types file (the format of its kwok/tools/gen_instance_types.go) for
    `names`: each offered as spot and on-demand in ZONE."""
    unknown = [name for name in names if name not in INSTANCE_TYPES]
    if unknown:
        raise AssertionError(f"no published size for {unknown}: add it to tests/karpenter.py INSTANCE_TYPES")
    return [
        {
            "name": name,
            "architecture": "amd64",
            "operatingSystems": ["linux"],
            "resources": {**INSTANCE_TYPES[name], "pods": "58", "ephemeral-storage": "100Gi"},
            "offerings": [
                {
                    "Price": 1.0 if capacity == "on-demand" else 0.4,
                    "Available": True,
                    "Requirements": [
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]},
                        {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [ZONE]},
                    ],
                }
                for capacity in ("spot", "on-demand")
            ],
        }
        for name in names
    ]


def kwok_node_pool(rendered: dict, consolidate_after: str | None = None) -> dict:
    """The program's NodePool with its class swapped for a KWOKNodeClass of the same name."""
    pool = copy.deepcopy(rendered)
    name = pool["spec"]["template"]["spec"]["nodeClassRef"]["name"]
    pool["spec"]["template"]["spec"]["nodeClassRef"] = {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass", "name": name}
    if consolidate_after is not None:
        pool["spec"]["disruption"]["consolidateAfter"] = consolidate_after
    return pool


class Karpenter:
    def __init__(self, plane: ControlPlane, folder: Path, instance_types: list[str]):
        self.plane, self.folder = plane, folder
        self.types_file = folder / "instance-types.json"
        self.types_file.write_text(json.dumps(instance_types_file(instance_types), indent=2))
        self.log = folder / "karpenter.log"
        self.process: subprocess.Popen | None = None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ClusterError(f"karpenter exited with status {self.process.returncode}:\n{self.tail()}")

    def start(self, ports: list[int]) -> Karpenter:
        metrics, health = ports
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KUBECONFIG": str(self.plane.kubeconfig),
            "DISABLE_LEADER_ELECTION": "true",
            "METRICS_PORT": str(metrics),
            "HEALTH_PROBE_PORT": str(health),
            "INSTANCE_TYPES_FILE_PATH": str(self.types_file),
            "LOG_LEVEL": "debug",
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([str(BINARY)], env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

        def healthy() -> bool:
            self.check_alive()
            return "Starting workers" in self.log.read_text(errors="replace")

        try:
            wait_for(healthy, START_TIMEOUT, "Karpenter's controllers to start")
        except (AssertionError, ClusterError) as error:
            output = self.tail(200)
            self.stop()
            if bind_failed(output):
                raise PortTaken(str(error)) from None
            raise
        return self

    def stop(self) -> None:
        stop_group(self.process)


@contextlib.contextmanager
def running_karpenter(plane: ControlPlane, folder: Path, node_pool: dict):
    """Karpenter's CRDs (upstream, .tools/crds), a KWOKNodeClass, `node_pool`, and Karpenter running
    against `plane`; stopped however the block ends."""
    if not BINARY.exists():
        raise AssertionError(f"Karpenter's kwok provider is not built: {BUILD_HINT}")
    api = plane.api
    for group, plural in CRDS:
        api.apply(CRD_PATH, upstream(group, plural))
    for group, plural in CRDS:
        wait_for(lambda name=f"{plural}.{group}": established(api, name), START_TIMEOUT, f"the CRD {plural}.{group} to be served")
    class_name = node_pool["spec"]["template"]["spec"]["nodeClassRef"]["name"]
    api.create(NODE_CLASSES, {"apiVersion": "karpenter.kwok.sh/v1alpha1", "kind": "KWOKNodeClass", "metadata": {"name": class_name}})
    api.create(NODE_POOLS, node_pool)
    requirements = {r["key"]: r["values"] for r in node_pool["spec"]["template"]["spec"]["requirements"]}
    folder.mkdir(parents=True, exist_ok=True)
    karpenter = on_free_ports(2, Karpenter(plane, folder, requirements["node.kubernetes.io/instance-type"]).start)
    try:
        yield karpenter
    finally:
        karpenter.stop()


def rendered(synth_out: Path, kind: str, name: str) -> dict:
    """One object of a synth output folder, by kind and name."""
    for path in sorted(synth_out.glob(f"{kind}__*.yaml")):
        document = yaml.safe_load(path.read_text())
        if document["metadata"]["name"] == name:
            return document
    raise AssertionError(f"{synth_out} has no {kind} {name}")
