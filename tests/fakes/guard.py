"""A pytest plugin that fails any test which tries to reach a non-loopback host.

Register it from a test module with `pytest_plugins = ("fakes.guard",)`. Connections to
127.0.0.0/8, ::1, "localhost" and Unix sockets pass; anything else raises `NetworkBlocked`
(an `OSError`, so clients fail the way they would offline) and the test fails at teardown even
if the code under test swallowed the error.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


class NetworkBlocked(ConnectionRefusedError):
    """A test tried to reach a host other than this machine."""


def is_loopback(host: object) -> bool:
    """Whether `host` (a name or an address) is this machine."""
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Block and record every attempt to connect or resolve beyond loopback."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_UNIX:
            return
        host = address[0] if isinstance(address, tuple) else address
        if not is_loopback(host):
            attempts.append(f"connect {address!r}")
            raise NetworkBlocked(f"test network guard: {address!r} is not loopback")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host if isinstance(host, str) else str(host)):
            attempts.append(f"resolve {host!r}")
            raise NetworkBlocked(f"test network guard: {host!r} is not loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts:
        pytest.fail("test reached beyond loopback: " + "; ".join(attempts), pytrace=False)
