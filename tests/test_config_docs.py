"""docs/configuration.md is generated from the pydantic models: stale docs fail here."""

from __future__ import annotations

import subprocess
import sys

from rdagent_infra import config_docs
from rdagent_infra.config import StackConfig
from tests.conftest import ROOT


def test_configuration_md_is_up_to_date():
    assert config_docs.OUTPUT.read_text() == config_docs.render(), "docs/configuration.md is stale: run .venv/bin/python -m rdagent_infra.config_docs"


def test_every_key_of_the_model_is_documented():
    text = config_docs.OUTPUT.read_text()
    for name in StackConfig.model_fields:
        assert f"## `rdagent:{name}`" in text
    for expected in (
        "| `workloads.ui.replicas` | int (>= 1, <= 100) | `1` | dev, test, staging, prod |",
        "| `protect` | bool | `false` | prod |",
        "| `workloads.runs[].scenario` |",
    ):
        assert expected in text, expected


def test_the_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "configuration.md"
    stale.write_text(config_docs.render().replace("`1`", "`2`", 1))
    monkeypatch.setattr(config_docs, "OUTPUT", stale)
    assert config_docs.main(["--check"]) == 1
    assert stale.read_text() != config_docs.render(), "--check rewrote the file"
    result = subprocess.run([sys.executable, "-m", "rdagent_infra.config_docs", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
