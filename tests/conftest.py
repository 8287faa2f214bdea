"""Shared fixtures: the repo root, and each stack synthesized once per test session."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "test", "staging", "prod")
CLI = [sys.executable, "-m", "rdagent_infra.cli"]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@cache
def synth_dir(stack: str, base: Path) -> Path:
    out = base / stack
    result = run_cli("synth", "--stack", stack, "--out", str(out))
    assert result.returncode == 0, f"synth --stack {stack} failed:\n{result.stderr}"
    return out


@pytest.fixture(scope="session")
def synth_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth")


@pytest.fixture(scope="session")
def synthesized(synth_base):
    """synthesized(stack) -> the folder `rdagent-infra synth --stack <stack>` wrote."""
    return lambda stack: synth_dir(stack, synth_base)
