"""Shared fixtures: the repo root, and each stack synthesized once per test session."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "test", "staging", "prod")
CLI = [sys.executable, "-m", "rdagent_infra.cli"]

# One factor for every time budget of the suite: RDAGENT_TEST_TIME_SCALE (default 1). A slow or busy
# machine sets it (say 2) rather than editing timeouts: the waits for a condition (tests/cluster.py
# `wait_for`, tests/pod_sandbox.py `wait_until`), a sandboxed pod's run, the CLI's subprocesses and
# pytest-timeout's limit per test all scale with it. Nothing is measured against a budget.
_SCALE_TEXT = os.environ.get("RDAGENT_TEST_TIME_SCALE", "1")
try:
    TIME_SCALE = float(_SCALE_TEXT)
except ValueError:
    TIME_SCALE = 0.0
if not 0.1 <= TIME_SCALE <= 20:
    raise pytest.UsageError(f"RDAGENT_TEST_TIME_SCALE must be a number from 0.1 to 20, got {_SCALE_TEXT!r}")


def budget(seconds: float) -> float:
    """`seconds` scaled by RDAGENT_TEST_TIME_SCALE."""
    return seconds * TIME_SCALE


def run_cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`rdagent-infra *args` in `cwd`; `env`: variables added to this process's."""
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=budget(300), env={**os.environ, **(env or {})})


def config_of(stack: str, edit=None):
    """The stack's validated config from its file, after `edit(raw)` changed a copy of its raw keys."""
    import copy

    from rdagent_infra.config import load_stack_config
    from rdagent_infra.stack_source import raw_stack_config

    raw, source = raw_stack_config(ROOT, stack)
    raw = copy.deepcopy(raw)
    if edit:
        edit(raw)
    return load_stack_config(raw, stack, source)


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


@contextlib.contextmanager
def started_control_plane(folder: Path, **options):
    """A real control plane (tests/cluster.py) in `folder`, torn down however the block ends.

    Fails (never skips) when the binaries are not built; started again on new ports when another
    process took one of its ports first (tests/ports.py). `options` go to ControlPlane."""
    from tests.cluster import ClusterError, ControlPlane
    from tests.ports import PortTaken, bind_failed, on_free_ports

    attempts = itertools.count()

    def start(ports: list[int]) -> ControlPlane:
        plane = ControlPlane(folder / f"attempt-{next(attempts)}", ports, **options)
        plane.folder.mkdir(parents=True)
        try:
            return plane.start()
        except ClusterError as error:
            logs = plane.logs()
            plane.stop()
            if bind_failed(f"{error}\n{logs}"):
                raise PortTaken(f"{error}") from None
            pytest.fail(f"the test control plane did not start: {error}\n{logs}", pytrace=False)
        except BaseException:
            plane.stop()
            raise

    plane = on_free_ports(len(ControlPlane.PORTS), start)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture
def new_control_plane():
    """new_control_plane(folder, **options): a control plane of the test's own (a context manager,
    started_control_plane), for a test that needs one started otherwise than the session's."""
    return started_control_plane


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    """One real control plane per session, shared by the `cluster` and `faults` tests."""
    with started_control_plane(tmp_path_factory.mktemp("controlplane")) as plane:
        yield plane


def pytest_sessionfinish(session, exitstatus):
    """`pytest -m NAME` that selects no test is a failure, never a silent pass (exit status 5 -> 1)."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        selection = session.config.getoption("markexpr") or session.config.getoption("keyword") or " ".join(session.config.args)
        session.config.get_terminal_writer().line(f"error: no test selected by {selection!r}: a test group that runs nothing fails", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def pod_network(tmp_path):
    """A network namespace of loopback only (tests/pod_sandbox.py), with the LLM stand-in in it:
    (the network, the stand-in)."""
    from tests.pod_sandbox import STANDIN_PORT, LlmStandIn, PodNetwork

    network = PodNetwork()
    llm = LlmStandIn(network, tmp_path / "llm", STANDIN_PORT)
    yield network, llm
    llm.close()
    network.close()


# --- markers follow what a test uses --------------------------------------------------------------

# A test that asks for one of these fixtures gets its marker, whatever its module says, so that
# `-m "not cluster"` starts no control plane, `-m "not engine"` runs no engine, and so on.
DERIVED_MARKERS = {"control_plane": "cluster", "new_control_plane": "cluster", "engine": "engine", "real_prometheus": "prometheus", "pod_network": "app"}


# The files of few, long tests go first (make test runs `--dist loadfile --no-loadscope-reorder`, so
# workers take files in this order): the fault tests and the cluster stack, which mostly wait on the
# engine and the control plane, beside the app's sandboxed runs, which mostly compute; then `rollout
# run` and Karpenter (waiting too) and the signed-in browser; the many short files after them even
# out the workers' ends. Two workers: three were faster (613 s against 723 s, the same tree on
# 2026-12-05) but the extra load brought out a timing race in three of four full runs (each fixed:
# docs/cluster-tests.md, finding 17, and the tests' own waits), so two stay until three run green
# again and again.
FIRST_FILES = (
    "test_faults.py",
    "test_app.py",
    "test_cluster_stack.py",
    "test_rollout_run.py",
    "test_karpenter.py",
    "test_kueue.py",
    "test_ui_sign_in.py",
    "test_engine.py",
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    # pytest-timeout's limit per test (pyproject.toml), scaled like every other budget.
    limit = config.getini("timeout")
    for item in items:
        if limit and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(budget(float(limit))))
        for fixture, marker in DERIVED_MARKERS.items():
            if fixture in item.fixturenames and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
    items.sort(key=lambda item: FIRST_FILES.index(item.path.name) if item.path.name in FIRST_FILES else len(FIRST_FILES))


@pytest.fixture(scope="session")
def engine() -> Path:
    """The real Pulumi engine (scripts/engine-toolchain.sh). Fails, never skips, when it is not built."""
    binary = ROOT / ".tools" / "bin" / "pulumi"
    if not binary.exists():
        pytest.fail("the Pulumi engine is not built: run make test (it runs scripts/engine-toolchain.sh)", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def real_prometheus() -> str:
    """Debian's prometheus, which tests/prometheus_server.py starts."""
    from tests.prometheus_server import PROMETHEUS

    if not Path(PROMETHEUS).exists():
        pytest.fail("prometheus is missing: make validators installs Debian's prometheus package", pytrace=False)
    return PROMETHEUS
