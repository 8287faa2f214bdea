"""Independent validators on everything we render: kubernetes-validate (strict) and checkov on each
stack's synth output, checkov's Dockerfile checks on images/. We do not grade our own homework."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, STACKS

CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
KUBERNETES_VERSION = "1.35"  # the EKS version of the staging and prod stacks
# Custom resources kubernetes-validate has no schema for; checked by their own tests instead.
CUSTOM_KINDS = {"HTTPRoute", "PrometheusRule", "ServiceMonitor"}


def checkov(*args: str) -> dict:
    assert CHECKOV.exists(), "checkov is not installed: run make test (it installs .tools/checkov)"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(ROOT / ".checkov.yaml"), "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def failures(report: dict) -> list[str]:
    return [f"{f['check_id']} {f['check_name']}: {f['resource']} ({f['file_path']})" for f in report["results"]["failed_checks"]]


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_validate_strict(synthesized, stack):
    out = synthesized(stack)
    files = [str(p) for p in sorted(out.glob("*.yaml")) if yaml.safe_load(p.read_text())["kind"] not in CUSTOM_KINDS]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSION, "--quiet", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout and "INVALID" not in result.stdout.upper(), result.stdout


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_kubernetes_has_no_failures(synthesized, stack):
    report = checkov("--framework", "kubernetes", "--directory", str(synthesized(stack)))
    assert not failures(report), "\n".join(failures(report))
    assert report["summary"]["passed"] > 100


def test_checkov_dockerfiles_have_no_failures():
    report = checkov("--framework", "dockerfile", "--directory", str(ROOT / "images"))
    assert not failures(report), "\n".join(failures(report))
    for dockerfile in sorted((ROOT / "images").glob("*.Dockerfile")):
        passed = {check["check_id"] for check in report["results"]["passed_checks"] if check["file_path"] == f"/{dockerfile.name}"}
        for check in ("CKV_DOCKER_2", "CKV_DOCKER_3", "CKV_DOCKER_7", "CKV_DOCKER_8"):  # HEALTHCHECK, a USER, no latest base, last USER not root
            assert check in passed, f"{check} did not pass on {dockerfile.name}"


def test_every_image_variant_has_a_dockerfile():
    from rdagent_infra.config import IMAGE_VARIANTS

    for variant in IMAGE_VARIANTS:
        assert (ROOT / "images" / f"{variant}.Dockerfile").exists(), f"images/{variant}.Dockerfile is missing"


def test_validators_on_the_eck_variant(tmp_path):
    """prod with logging.mode eck, on a cluster the team runs with the Elastic operator (on a cluster the
    stack creates nothing would serve ECK's kinds, and synth refuses it): the operator's custom
    resources plus our Job and Service pass too."""
    project = tmp_path / "eck"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    config["rdagent:logging"]["mode"] = "eck"
    config["rdagent:cluster"] = {"mode": "kubeconfig", "kubeconfigContext": "team"}
    config["rdagent:images"]["ecr"] = False
    config["rdagent:gpu"] = {}
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    out = project / "out"
    rdagent_infra = str(Path(sys.executable).parent / "rdagent-infra")
    assert subprocess.run([rdagent_infra, "synth", "--stack", "prod", "--out", str(out)], cwd=project, capture_output=True, timeout=300).returncode == 0
    assert subprocess.run([rdagent_infra, "policy", "check", str(out)], capture_output=True, timeout=300).returncode == 0
    report = checkov("--framework", "kubernetes", "--directory", str(out))
    assert not failures(report), "\n".join(failures(report))
