"""The suite's own rule: a test group that selects nothing fails (pytest's exit status 5 becomes 1)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import ROOT


def test_a_selection_without_tests_fails_with_a_message(tmp_path):
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\nmarkers =\n    cluster: the group under test\n")
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")

    def pytest(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), *args, str(tmp_path)]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    selected = pytest("-m", "not cluster")
    assert selected.returncode == 0, selected.stdout
    empty = pytest("-m", "cluster")
    assert empty.returncode == 1, empty.stdout + empty.stderr
    assert "error: no test selected by 'cluster': a test group that runs nothing fails" in empty.stdout
