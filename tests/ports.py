"""Loopback ports for the servers the tests start.

A port found free by binding and releasing it can be taken by another process before the server
binds it (two workers start servers at once), so every server that takes its ports this way is
started through `on_free_ports`: a server that could not bind is started again on new ports.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

ATTEMPTS = 3
T = TypeVar("T")


class PortTaken(Exception):
    """The server could not bind one of its ports: another process took it first."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bind_failed(output: str) -> bool:
    """What etcd, the API server, Envoy, Prometheus and oauth2-proxy (all Go or C++ on Linux) print
    when a listen fails on a taken port."""
    return "address already in use" in output.lower()


def on_free_ports(count: int, start: Callable[[list[int]], T]) -> T:
    """start(ports) with `count` free ports; started again on new ports while it raises PortTaken."""
    taken: list[str] = []
    for _ in range(ATTEMPTS):
        try:
            return start([free_port() for _ in range(count)])
        except PortTaken as error:
            taken.append(str(error))
    raise AssertionError(f"no server start found its ports free in {ATTEMPTS} attempts: {taken}")
