"""tests/ports.py: a server whose port was taken between the probe and its bind starts again on new
ports; any other failure is not retried."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.ports import ATTEMPTS, PortTaken, bind_failed, on_free_ports

LISTEN = "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); print('listening')"


def start_listener(port: int) -> str:
    """A child that binds `port` the way our servers do, and says what happened."""
    result = subprocess.run([sys.executable, "-c", LISTEN, str(port)], capture_output=True, text=True, timeout=30)
    said = result.stdout + result.stderr
    if result.returncode != 0 and bind_failed(said):
        raise PortTaken(said)
    assert result.returncode == 0, said
    return said.strip()


def test_a_port_taken_before_the_child_binds_is_replaced():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        tried = []

        def start(ports: list[int]) -> str:
            port = taken if not tried else ports[0]  # the first attempt meets the race
            tried.append(port)
            return start_listener(port)

        assert on_free_ports(1, start) == "listening"
    assert tried[0] == taken and tried[1] != taken and len(tried) == 2


def test_it_gives_up_after_its_attempts_and_says_why():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(AssertionError, match=f"in {ATTEMPTS} attempts.*Address already in use"):
            on_free_ports(1, lambda _ports: start_listener(taken))


def test_a_failure_that_is_not_a_taken_port_is_not_retried():
    calls = []

    def start(_ports: list[int]) -> None:
        calls.append(1)
        raise RuntimeError("bad flag")

    with pytest.raises(RuntimeError, match="bad flag"):
        on_free_ports(2, start)
    assert calls == [1]
