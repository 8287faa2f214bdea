"""Under the real engine: an update of a staging stack still on the example passphrase is refused by
the program (preview runs); the same stack re-keyed with another passphrase (a stand-in for a cloud
KMS: the program only asks whether the public passphrase opens the stack's secrets) updates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.test_engine import PULUMI, project  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine")]
SECRETS = {"redisPassword": "r3dis-team", "elasticPassword": "el4stic-team", "openaiApiKey": "sk-team-key"}


def run(work: Path, passphrase: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PULUMI_BACKEND_URL": f"file://{work.parent / 'state'}", "PULUMI_CONFIG_PASSPHRASE": passphrase}
    return subprocess.run([str(PULUMI), *args, "--non-interactive"], cwd=work, env=env, capture_output=True, text=True, timeout=600)


def staging_copy_of_test(work: Path, name: str, keep_secrets: bool) -> None:
    document = yaml.safe_load((work / "Pulumi.test.yaml").read_text())
    document["config"]["rdagent:tier"] = "staging"
    document["config"]["rdagent:cluster"]["renderDir"] = f"build/{name}"
    # The UI stays internal: a canary's weighted route would expose it, which staging refuses without sign-in.
    document["config"]["rdagent:rollout"] = {"strategy": "rolling"}
    if not keep_secrets:
        del document["config"]["rdagent:secrets"], document["encryptionsalt"]
    (work / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def test_update_on_the_example_passphrase_is_refused_preview_runs(project):  # noqa: F811
    staging_copy_of_test(project, "stg", keep_secrets=True)
    assert run(project, "rdagent-local", "stack", "init", "stg").returncode == 0
    preview = run(project, "rdagent-local", "preview", "--stack", "stg")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    update = run(project, "rdagent-local", "up", "--yes", "--stack", "stg")
    shown = update.stdout + update.stderr
    assert update.returncode != 0, shown
    assert "example passphrase" in shown and "pulumi stack change-secrets-provider" in shown and "pulumi config set --secret" in shown, shown
    assert not (project / "build" / "stg").exists(), "nothing may be written by a refused update"


def test_update_with_another_passphrase_proceeds(project):  # noqa: F811
    staging_copy_of_test(project, "stg2", keep_secrets=False)
    team = "a-passphrase-only-the-team-knows"
    assert run(project, team, "stack", "init", "stg2").returncode == 0
    for key, value in SECRETS.items():
        result = run(project, team, "config", "set", "--secret", "--path", f"rdagent:secrets.{key}", value, "--stack", "stg2")
        assert result.returncode == 0, result.stderr
    update = run(project, team, "up", "--yes", "--stack", "stg2")
    assert update.returncode == 0, update.stdout + update.stderr
    assert (project / "build" / "stg2").is_dir()
