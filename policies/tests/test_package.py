"""The pack as a package: one version (rdagent_policies.__version__) that both PulumiPolicy.yaml
files and the package metadata carry, and a pack folder that works wherever it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
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
    assert (REPO_PACK / "__main__.py").read_text() == (pack_dir() / "__main__.py").read_text()


def test_the_built_package_ships_the_pack(tmp_path):
    """What `pip install ./policies` installs, read from the wheel pip builds (this checkout's
    editable install would read the source folder, whatever the package data says)."""
    # From a copy without the build's leftovers: setuptools would take the file list of an old egg-info.
    source = tmp_path / "source"
    shutil.copytree(REPO_PACK, source, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__", "tests"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--disable-pip-version-check", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("rdagent_policies-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name: archive.read(name).decode() for name in archive.namelist() if name.startswith("rdagent_policies/pulumi_pack/")}
    assert set(shipped) == {"rdagent_policies/pulumi_pack/PulumiPolicy.yaml", "rdagent_policies/pulumi_pack/__main__.py"}, sorted(shipped)
    assert shipped["rdagent_policies/pulumi_pack/__main__.py"] == (REPO_PACK / "__main__.py").read_text()
    assert yaml.safe_load(shipped["rdagent_policies/pulumi_pack/PulumiPolicy.yaml"]) == yaml.safe_load((REPO_PACK / "PulumiPolicy.yaml").read_text())


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
