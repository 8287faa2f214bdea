"""The pack as a package: one version (rdagent_policies.__version__) that both PulumiPolicy.yaml
files and the package metadata carry, and a pack folder that works wherever it is installed."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import rdagent_policies
import yaml
from rdagent_policies.cli import main, pack_dir

REPO_PACK = Path(__file__).resolve().parent.parent


def test_one_version_everywhere():
    assert version("rdagent-policies") == rdagent_policies.__version__
    for folder in (REPO_PACK, pack_dir()):
        project = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())
        assert project["version"] == rdagent_policies.__version__, f"{folder}/PulumiPolicy.yaml says {project['version']}"


def test_the_pack_folder_needs_no_particular_virtualenv():
    for folder in (REPO_PACK, pack_dir()):
        runtime = yaml.safe_load((folder / "PulumiPolicy.yaml").read_text())["runtime"]
        assert runtime == {"name": "python", "options": {"toolchain": "pip"}}, f"{folder}: {runtime}"
        assert (folder / "__main__.py").read_text() == (pack_dir() / "__main__.py").read_text()


def test_path_and_version_commands(capsys):
    assert main(["path"]) == 0
    assert Path(capsys.readouterr().out.strip()) == pack_dir()
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == rdagent_policies.__version__


def test_the_readme_lists_every_policy():
    from rdagent_policies import rules

    table = (REPO_PACK / "README.md").read_text()
    for name in rules.ALL_POLICY_NAMES:
        assert f"\n| {name} |" in table or f"\n| {name} (stack) |" in table, f"policies/README.md has no row for {name}"
