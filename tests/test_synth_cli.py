"""The synth command-line contract (SPEC section 6)."""

from __future__ import annotations

import json
import shutil

import yaml

from tests.conftest import ROOT, run_cli
from tests.manifests import load_manifests, load_resources

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass", "PriorityClass", "GatewayClass", "NodePool", "EC2NodeClass"}
CLUSTER_SCOPED |= {"ClusterQueue", "ResourceFlavor", "WorkloadPriorityClass"}


def test_synth_writes_manifests_and_resources(synthesized):
    out = synthesized("prod")
    manifests = load_manifests(out)
    assert manifests, "no YAML written"
    for manifest in manifests:
        metadata = manifest["metadata"]
        assert metadata.get("name"), f"{manifest['kind']} without an explicit name"
        # Cluster-scoped kinds have no namespace to name (the log shipper's ClusterRole and binding).
        if manifest["kind"] not in CLUSTER_SCOPED:
            assert metadata.get("namespace"), f"{manifest['kind']}/{metadata['name']} without a namespace"
    # Sorting the file names groups them by kind, each kind's objects in name order.
    listed = [tuple(path.name.split("__")) for path in sorted(out.glob("*.yaml"))]
    kinds = [entry[0] for entry in listed]
    assert all(kinds.index(kind) + kinds.count(kind) - 1 == len(kinds) - 1 - kinds[::-1].index(kind) for kind in kinds), "a kind's files are not together"
    for kind in set(kinds):
        names = [entry[1:] for entry in listed if entry[0] == kind]
        assert names == sorted(names), f"{kind} files are not in name order"
    resources = load_resources(out)
    assert {"type", "name", "parent", "inputs"} <= set(resources[0])
    by_name = {r["name"]: r for r in resources}
    assert by_name["rdagent-ui"]["type"] == "rdagent:index:RdAgentUi" and by_name["rdagent-ui"]["parent"] is None
    assert by_name["rdagent-ui-blue"]["parent"] == "rdagent-ui"
    deployment = by_name["rdagent-ui-blue"]["inputs"]
    assert "maxSurge" in json.dumps(deployment), "inputs are not camelCase as the engine receives them"


def test_synth_is_deterministic(synthesized, tmp_path):
    first = synthesized("prod")
    second = tmp_path / "again"
    result = run_cli("synth", "--stack", "prod", "--out", str(second))
    assert result.returncode == 0, result.stderr
    for path in sorted(first.iterdir()):
        assert (second / path.name).read_bytes() == path.read_bytes(), f"{path.name} differs between two runs"
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())


def test_synth_replaces_its_previous_output(tmp_path):
    out = tmp_path / "out"
    assert run_cli("synth", "--stack", "dev", "--out", str(out)).returncode == 0
    stale = out / "Deployment__rdagent__stale.yaml"
    stale.write_text("kind: Deployment\n")
    assert run_cli("synth", "--stack", "dev", "--out", str(out)).returncode == 0
    assert not stale.exists(), "a file from an earlier run survived"


def test_synth_refuses_a_folder_it_did_not_write(tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    result = run_cli("synth", "--stack", "dev", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "was not written by synth" in result.stderr
    assert precious.read_text() == "keep me"


def test_invalid_config_exits_2_with_one_line_per_problem(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    config["rdagent:workloads"]["ui"]["replicas"] = -1
    config["rdagent:colour"] = "blue"
    config["rdagent:images"]["version"] = "latest"
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    result = run_cli("synth", "--stack", "prod", "--out", str(out), cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "Pulumi.prod.yaml: rdagent:colour: unknown key",
        "Pulumi.prod.yaml: rdagent:images.version: the tag latest is not allowed in prod: use a semantic version such as 1.2.3",
        "Pulumi.prod.yaml: rdagent:workloads.ui.replicas: must be >= 1, got -1",
    ]
    assert "Traceback" not in result.stderr
    assert not out.exists(), "synth wrote output for an invalid config"


def test_missing_stack_file_is_an_error(tmp_path):
    result = run_cli("synth", "--stack", "nope", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Pulumi.nope.yaml: no such stack file" in result.stderr
    assert "Traceback" not in result.stderr
