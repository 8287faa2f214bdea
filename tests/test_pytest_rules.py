"""The suite's own rule: a test group that selects nothing fails (pytest's exit status 5 becomes 1)."""

from __future__ import annotations

import os
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


def test_a_test_that_hangs_is_stopped_and_reported(tmp_path):
    """pytest-timeout is installed and the suite sets a per-test limit: a test blocked on a read
    fails with its stack instead of hanging the suite (here with the limit made 1 s)."""
    import tomllib

    limit = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["timeout"]
    assert 60 <= limit <= 1800, limit
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout = 1\n")
    (tmp_path / "test_hangs.py").write_text("import os\n\ndef test_hangs():\n    read, _ = os.pipe()\n    os.read(read, 1)\n")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout
    assert "Timeout (>1.0s)" in result.stdout and "os.read(read, 1)" in result.stdout, result.stdout[-3000:]


def test_a_test_gets_the_marker_of_the_fixtures_it_uses(tmp_path):
    """`-m "not cluster"` must start no control plane: a test that asks for `control_plane` (or the
    engine, the real Prometheus, the pod network) carries that group's marker, whatever its module
    says. Collected only: no fixture runs."""
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\nmarkers =\n    cluster: c\n    engine: e\n    prometheus: p\n    app: a\n")
    (tmp_path / "test_uses.py").write_text(
        "def test_plain():\n    pass\n\n"
        "def test_on_the_cluster(control_plane):\n    pass\n\n"
        "def test_through_the_engine(engine):\n    pass\n\n"
        "def test_with_prometheus(real_prometheus):\n    pass\n\n"
        "def test_in_a_pod(pod_network):\n    pass\n"
    )

    def collected(selection: str) -> list[str]:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "--collect-only", "-q", "-m", selection, str(tmp_path)]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        return sorted(line.split("::")[-1] for line in result.stdout.splitlines() if "::" in line)

    assert collected("not cluster and not engine and not prometheus and not app") == ["test_plain"]
    assert collected("cluster") == ["test_on_the_cluster"]
    assert collected("engine") == ["test_through_the_engine"]
    assert collected("prometheus") == ["test_with_prometheus"]
    assert collected("app") == ["test_in_a_pod"]


def test_one_factor_scales_every_time_budget(tmp_path):
    """RDAGENT_TEST_TIME_SCALE scales the waits and pytest-timeout's limit; a bad value is refused."""
    probe = (
        "import time\n"
        "from tests.cluster import ClusterError, wait_for\n"
        "started = time.monotonic()\n"
        "try:\n    wait_for(lambda: False, 0.2, 'nothing', interval=0.02)\nexcept ClusterError:\n    pass\n"
        "print(time.monotonic() - started)\n"
    )

    def waited(scale: str) -> float:
        env = {**os.environ, "RDAGENT_TEST_TIME_SCALE": scale}
        result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return float(result.stdout.strip())

    assert waited("5") >= 1.0  # 0.2 s scaled by 5: a wait never ends before its budget
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout = 1\n")
    (tmp_path / "test_hangs.py").write_text("import time\n\ndef test_sleeps():\n    time.sleep(2)\n")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)]

    def run(scale: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, cwd=tmp_path, env={**os.environ, "RDAGENT_TEST_TIME_SCALE": scale}, capture_output=True, text=True, timeout=60)

    assert run("1").returncode == 1 and run("3").returncode == 0  # a 1 s limit stops a 2 s test; scaled by 3 it does not
    refused = run("fast")
    assert refused.returncode != 0 and "RDAGENT_TEST_TIME_SCALE must be a number from 0.1 to 20, got 'fast'" in refused.stdout + refused.stderr
