"""The GitHub workflows: actionlint (built from its Go module by scripts/actionlint-toolchain.sh,
with Debian's shellcheck for the run: scripts) over every workflow file, and the properties a
platform team relies on: the four workflow kinds, OIDC only, pinned actions, reviewed prod."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

ACTIONLINT = ROOT / ".tools" / "bin" / "actionlint"
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@([0-9a-f]{40}|v\d+\.\d+\.\d+)$")


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    assert ACTIONLINT.exists(), "actionlint is not built: run make test (it runs scripts/actionlint-toolchain.sh)"
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: make test installs Debian's shellcheck package (apt-get install shellcheck)"
    return subprocess.run([str(ACTIONLINT), "-shellcheck", shellcheck, "-no-color", *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as True.
    on = workflow.get("on", workflow.get(True))
    return on if isinstance(on, dict) else {event: None for event in ([on] if isinstance(on, str) else on)}


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps") or []


def test_actionlint_is_clean_on_every_workflow():
    assert len(WORKFLOW_FILES) >= 4, WORKFLOW_FILES
    result = actionlint(*WORKFLOW_FILES)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


def test_actionlint_and_shellcheck_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.nope.title }} $UNQUOTED\n"
        "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n"
        "  b:\n    needs: missing\n    runs-on: ubuntu-24.04\n    steps:\n      - run: true\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout
    assert 'needs job "missing" which does not exist' in result.stdout
    assert "no-such-input" in result.stdout
    assert "SC2086" in result.stdout, "shellcheck did not run over the run: script"


def test_the_four_workflow_kinds():
    pull_request = load("pull-request.yml")
    assert "pull_request" in triggers(pull_request)
    assert pull_request["concurrency"] == {"group": "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": True}
    preview = pull_request["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["staging", "prod"]
    action = next(s for s in preview["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert action["with"]["command"] == "preview" and action["with"]["comment-on-pr"] is True
    assert action["with"]["policyPacks"] == "policies"
    assert pull_request["jobs"]["test"]["strategy"]["matrix"]["python-version"] == ["3.11"], "pyproject.toml supports 3.11 only"
    assert triggers(load("pr-title.yml"))["pull_request"]["types"] == ["opened", "edited", "synchronize", "reopened"]

    staging = load("deploy-staging.yml")
    assert triggers(staging)["push"] == {"branches": ["main"]}
    up = next(s for s in steps(staging) if s.get("uses", "").startswith("pulumi/actions@"))
    assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", "staging")
    assert any("rdagent-infra rollout run --stack staging" in s.get("run", "") for s in steps(staging))

    release = load("release.yml")
    assert triggers(release)["push"] == {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}
    prod = release["jobs"]["prod"]
    assert prod["environment"] == "prod" and "images" in prod["needs"]
    up = next(s for s in prod["steps"] if s.get("uses", "").startswith("pulumi/actions@"))
    assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", "prod")

    reusable = triggers(load("policy-pack.yml"))["workflow_call"]
    assert {"pack-repository", "pack-ref", "manifests", "pulumi-stack"} <= set(reusable["inputs"])


def test_cloud_credentials_by_oidc_only_and_every_action_pinned():
    for path in WORKFLOW_FILES:
        text = path.read_text()
        assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, f"{path.name}: long-lived AWS keys"
        workflow = yaml.safe_load(text)
        for name, job in workflow["jobs"].items():
            uses_aws = any(s.get("uses", "").startswith("aws-actions/configure-aws-credentials@") for s in job.get("steps") or [])
            if uses_aws:
                assert job.get("permissions", {}).get("id-token") == "write", f"{path.name}: job {name} assumes a role without id-token: write"
        for step in steps(workflow):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{path.name}: {step['uses']} is not pinned to a commit or an exact version"


@pytest.mark.parametrize("ecosystem", ["pip", "github-actions", "docker"])
def test_dependabot_covers(ecosystem):
    updates = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())["updates"]
    assert ecosystem in {u["package-ecosystem"] for u in updates}
