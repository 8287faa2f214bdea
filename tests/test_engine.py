"""End to end through the real Pulumi engine (built by scripts/engine-toolchain.sh): preview, up,
a second up without changes, a mandatory policy stopping a violation, invalid configuration, and
destroy. Each test runs a copy of the project with its own local file backend."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine")]
PULUMI = ROOT / "scripts" / "pulumi"
POLICY_CONFIG = ROOT / "policies" / "config"


@pytest.fixture
def project(tmp_path, engine):
    """A copy of the project (stack files, __main__.py) sharing the repo's virtualenv."""
    work = tmp_path / "project"
    work.mkdir()
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml", "Pulumi.test.yaml"):
        shutil.copy(ROOT / name, work / name)
    (work / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "state").mkdir()
    return work


def pulumi(project: Path, *args: str, check: bool = True, path: str | None = None) -> subprocess.CompletedProcess:
    """scripts/pulumi (the engine, offline) with a local backend; with `path`, the engine itself
    under that PATH instead (scripts/pulumi puts the repo's .venv first)."""
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": f"file://{project.parent / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "rdagent-local",
    }
    command = [str(PULUMI)]
    if path is not None:
        command = [str(ROOT / ".tools" / "bin" / "pulumi")]
        env |= {
            "PATH": path,
            "PULUMI_HOME": str(ROOT / ".tools" / "pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        }
    result = subprocess.run([*command, *args, "--non-interactive"], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert result.returncode == 0, f"pulumi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def signing_key(project: Path) -> str:
    """The artifact signing key as the rendered Secret holds it (render mode writes it in plain text)."""
    (path,) = (project / "build" / "test").rglob("v1-secret-rdagent-rdagent-artifact-signing.yaml")
    secret = yaml.safe_load(path.read_text())
    return (secret.get("stringData") or {}).get("artifact-signing-key") or base64.b64decode(secret["data"]["artifact-signing-key"]).decode()


def policy_args(stack: str) -> list[str]:
    return ["--policy-pack", str(ROOT / "policies"), "--policy-pack-config", str(POLICY_CONFIG / f"policy-config.{stack}.json")]


def test_preview_up_again_and_destroy(project):
    pulumi(project, "stack", "init", "test")
    preview = pulumi(project, "preview", "--stack", "test", "--json", *policy_args("test"))
    steps = json.loads(preview.stdout)["steps"]
    planned = {(step["newState"]["type"], step["urn"].rsplit("::", 1)[1]) for step in steps if step["op"] == "create"}
    for expected in [
        ("kubernetes:apps/v1:Deployment", "rdagent-ui-stable"),
        ("kubernetes:apps/v1:StatefulSet", "rdagent-redis-statefulset"),
        ("kubernetes:batch/v1:Job", "rdagent-runs-model-report-smoke"),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "rdagent-default-deny"),
        ("rdagent:index:RdAgentUi", "rdagent-ui"),
    ]:
        assert expected in planned, f"preview does not plan {expected}"
    assert not [t for t, _ in planned if t.startswith("aws:")], "the render-only test stack needs no AWS provider"

    up = pulumi(project, "up", "--stack", "test", "--yes", *policy_args("test"))
    assert "created" in up.stdout
    rendered = sorted((project / "build" / "test").rglob("*.yaml"))
    kinds = {yaml.safe_load(path.read_text())["kind"] for path in rendered}
    assert {"Deployment", "StatefulSet", "Job", "Service", "ConfigMap", "Secret", "NetworkPolicy", "Namespace"} <= kinds

    key = signing_key(project)
    assert re.fullmatch(r"[0-9a-f]{64}", key), "the artifact signing key is not 32 random bytes in hex"
    state = json.loads(pulumi(project, "stack", "export", "--stack", "test").stdout)
    (dynamic,) = [r for r in state["deployment"]["resources"] if r["type"] == "pulumi-python:dynamic:Resource" and r["urn"].endswith("signing-key")]
    assert "ciphertext" in dynamic["outputs"]["key"] and key not in json.dumps(state), "the key is in the state in plain text"

    again = pulumi(project, "up", "--stack", "test", "--yes", "--expect-no-changes", *policy_args("test"))
    assert "unchanged" in again.stdout
    assert signing_key(project) == key, "a no-change update made a new signing key"

    pulumi(project, "destroy", "--stack", "test", "--yes")
    # Batch Jobs are retained on delete (a running run is never killed by an update or a destroy;
    # their TTL removes them): they are all destroy leaves behind.
    left = [p.name for p in (project / "build" / "test").rglob("*.yaml")]
    assert all(name.startswith("batch_v1-job-rdagent-rdagent-run-") for name in left), f"destroy left rendered manifests behind: {left}"
    pulumi(project, "stack", "rm", "test", "--yes", "--preserve-config")
    leftovers = [p for p in (project.parent / "state").rglob("*") if p.is_file() and "stacks" in p.parts and p.suffix in (".json", ".gz")]
    assert not leftovers, f"state left behind: {leftovers}"
    assert (project / "Pulumi.test.yaml").exists()


def test_mandatory_policy_stops_a_violating_stack(project):
    # A dev-tier stack may use `latest`; under the test stack's mandatory policies it must not deploy.
    document = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())
    document["config"]["rdagent:images"]["version"] = "latest"
    document["config"]["rdagent:tier"] = "dev"
    document["config"]["rdagent:cluster"]["renderDir"] = "build/violation"
    (project / "Pulumi.violation.yaml").write_text(yaml.safe_dump(document))
    pulumi(project, "stack", "init", "violation")
    result = pulumi(project, "preview", "--stack", "violation", *policy_args("test"), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "[mandatory]  pinned-image-tags" in output
    assert "uses the tag latest; pin a version tag or a digest" in output
    assert not (project / "build" / "violation").exists()


def test_invalid_config_stops_before_any_resource(project):
    document = yaml.safe_load((project / "Pulumi.test.yaml").read_text())
    document["config"]["rdagent:workloads"]["ui"]["replicas"] = -1
    document["config"]["rdagent:colour"] = "blue"
    (project / "Pulumi.test.yaml").write_text(yaml.safe_dump(document))
    pulumi(project, "stack", "init", "test")
    result = pulumi(project, "preview", "--stack", "test", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "error: Pulumi.test.yaml: rdagent:colour: unknown key" in output
    assert "error: Pulumi.test.yaml: rdagent:workloads.ui.replicas: must be >= 1, got -1" in output
    assert "Traceback" not in output and "unhandled error" not in output
    assert "kubernetes:" not in output, "resources were registered despite invalid configuration"


def test_dev_stack_previews_with_advisory_policies(project):
    pulumi(project, "stack", "init", "dev")
    preview = pulumi(project, "preview", "--stack", "dev", *policy_args("dev"))
    assert "[advisory]  read-only-root-filesystem" in preview.stdout
    assert "[mandatory]" not in preview.stdout
    assert not (project / "build" / "dev").exists(), "a preview rendered manifests"


def installed_pack(tmp_path: Path) -> Path:
    """rdagent-policies installed from its own folder into a fresh virtualenv (offline, from the
    wheelhouse `make test` downloads); returns that virtualenv's bin folder."""
    wheelhouse = ROOT / ".tools" / "wheelhouse"
    assert (wheelhouse / ".downloaded").exists(), "the wheelhouse is missing: run make test (it runs make wheelhouse)"
    venv = tmp_path / "pack-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            str(ROOT / "policies"),
            "-r",
            str(ROOT / "policies" / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return venv / "bin"


def test_the_installed_pack_guards_a_program_outside_this_repo(tmp_path):
    """Another team's program, not built from our components, outside this repo, with the pack
    installed into a virtualenv of its own: the pack still finds what is wrong."""
    pack_bin = installed_pack(tmp_path)
    pack_dir = Path(subprocess.run([str(pack_bin / "rdagent-policies"), "path"], capture_output=True, text=True, check=True).stdout.strip())
    assert pack_dir.is_relative_to(pack_bin.parent), f"the pack folder {pack_dir} is not the installed one"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (tmp_path / "state").mkdir()
    # The program has its own environment (here the repo's, for pulumi-kubernetes); the pack runs
    # with the first python3 on PATH: the pack's virtualenv, which has no rdagent-infra in it.
    (foreign / "Pulumi.yaml").write_text(f"name: foreign\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {ROOT / '.venv'}\n")
    (foreign / "__main__.py").write_text(
        "import pulumi\n"
        "import pulumi_kubernetes as k8s\n"
        "provider = k8s.Provider('render', render_yaml_to_directory='out')\n"
        "k8s.apps.v1.Deployment('web', metadata={'name': 'web'}, spec={\n"
        "    'selector': {'matchLabels': {'app': 'web'}},\n"
        "    'template': {'metadata': {'labels': {'app': 'web'}},\n"
        "                 'spec': {'containers': [{'name': 'web', 'image': 'nginx', 'securityContext': {'privileged': True}}]}}},\n"
        "    opts=pulumi.ResourceOptions(provider=provider))\n"
    )
    probe = subprocess.run([str(pack_bin / "python"), "-c", "import rdagent_infra"], cwd=tmp_path, capture_output=True, text=True)
    assert probe.returncode != 0, "the pack's virtualenv can import rdagent_infra: it is not standalone"
    path = os.pathsep.join([str(pack_bin), str(ROOT / ".tools" / "bin"), "/usr/bin", "/bin"])
    pulumi(foreign, "stack", "init", "ci", path=path)
    result = pulumi(foreign, "preview", "--stack", "ci", "--policy-pack", str(pack_dir), check=False, path=path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "rdagent-policies@v0.2.0" in output, f"the pack did not report its version:\n{output}"
    for policy in ("run-as-non-root", "resource-requests-limits", "no-privileged-containers", "pinned-image-tags", "seccomp-runtime-default"):
        assert f"[mandatory]  {policy}" in output, f"{policy} did not fire:\n{output}"
    assert "container 'web' (spec.template.spec.containers[0]): spec.template.spec.containers[0].image 'nginx' has no tag" in output


def test_about_names_the_programs_python_and_the_resource_plugins_its_packages_need(project):
    """What our language host answers (engine/cli/langhost): About (the interpreter) and
    GetRequiredPackages (the plugins), as `pulumi about` prints them. The expectation comes from
    requirements.txt's pins, not from the host's own listing."""
    pulumi(project, "stack", "init", "test")
    out = pulumi(project, "about", "--stack", "test").stdout
    pins = dict(re.findall(r"^pulumi[-_](aws|docker|kubernetes)==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    listed = dict(re.findall(r"^resource\s+(\S+)\s+(\S+)\s*$", out, re.MULTILINE))
    assert len(pins) == 3 and listed == pins, out
    version = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", "import platform; print(platform.python_version())"], capture_output=True, text=True
    ).stdout.strip()
    assert f"executable='{project / '.venv' / 'bin' / 'python'}' version='{version}'" in out, out
