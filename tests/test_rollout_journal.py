"""Whether the update that holds a lock still runs (rdagent_infra.rollout_journal), against real
processes: a live one, a zombie nobody reaps, and one that is gone.

A killed engine whose parent was killed too goes to PID 1; where PID 1 does not reap orphans (a
container without an init, as on this kind of machine and many CI runners) it stays a zombie for
ever. `kill(pid, 0)` succeeds on a zombie, so counting it as alive made `rollout run` refuse to
clear a stale lock after a real kill (the fault-test cascade of issue 29).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest

from rdagent_infra.rollout_journal import process_alive, stale_lock


def ps_state(pid: int) -> str:
    """The state as ps(1) reports it: an expectation independent of the code under test."""
    return subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()


@pytest.fixture
def zombie():
    """A child that exited and that this test does not reap (yet)."""
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while not ps_state(child.pid).startswith("Z"):
        assert time.monotonic() < deadline, f"the child never became a zombie: {ps_state(child.pid)!r}"
        time.sleep(0.02)
    yield child.pid
    child.wait()


def lock_file(tmp_path, pid: int):
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"pid": pid, "username": "ci", "hostname": socket.gethostname(), "timestamp": "2026-12-05T00:00:00Z"}))
    return lock


def test_a_zombie_is_not_alive_and_its_lock_is_stale(zombie, tmp_path):
    assert ps_state(zombie).startswith("Z")
    os.kill(zombie, 0)  # what the old check relied on: it succeeds on a zombie
    assert not process_alive(zombie)
    assert stale_lock(lock_file(tmp_path, zombie))


def test_a_running_process_is_alive_and_its_lock_is_not_stale(tmp_path):
    """The negative control: the same checks on a process that runs."""
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert ps_state(child.pid)[:1] in ("S", "R")
        assert process_alive(child.pid)
        assert not stale_lock(lock_file(tmp_path, child.pid))
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid)
    assert stale_lock(lock_file(tmp_path, child.pid))


def test_a_lock_of_another_host_is_never_stale(zombie, tmp_path):
    lock = tmp_path / "lock.json"
    lock.write_text(json.dumps({"pid": zombie, "username": "ci", "hostname": socket.gethostname() + "-other", "timestamp": "x"}))
    assert not stale_lock(lock)
