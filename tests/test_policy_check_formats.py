"""`rdagent-infra policy check --format`: every format keeps the exit statuses (0 clean, 1 mandatory
findings, 2 bad input) and writes its document to stdout, the summary to stderr."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import run_cli

VIOLATION = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: 'nginx:latest'}]\n"
PARSE = {"json": json.loads, "sarif": json.loads, "junit": ET.fromstring, "text": str.splitlines}


@pytest.mark.parametrize("fmt", sorted(PARSE))
def test_exit_statuses_are_the_same_in_every_format(fmt, tmp_path, synthesized):
    bad = tmp_path / "bad.yaml"
    bad.write_text(VIOLATION)
    found = run_cli("policy", "check", str(bad), "--format", fmt)
    assert found.returncode == 1, found.stderr
    assert PARSE[fmt](found.stdout), f"{fmt}: no findings in {found.stdout!r}"
    assert "mandatory" in found.stderr

    clean = run_cli("policy", "check", str(synthesized("prod")), "--format", fmt)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    PARSE[fmt](clean.stdout)  # a clean run is still a well-formed document

    missing = run_cli("policy", "check", str(tmp_path / "nope.yaml"), "--format", fmt)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr and "Traceback" not in missing.stderr


def test_an_unknown_format_is_bad_input(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(VIOLATION)
    result = run_cli("policy", "check", str(bad), "--format", "xml")
    assert result.returncode == 2
    assert "--format must be one of text, json, sarif, junit, got 'xml'" in result.stderr
    assert not result.stdout
