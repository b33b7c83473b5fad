"""The network guard: loopback passes, anything else fails the test even if swallowed."""

import socket

import pytest
from fakes.guard import NetworkBlocked, is_loopback


def test_loopback_names() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("203.0.113.7") and not is_loopback("api.openai.com")


def test_remote_hosts_are_blocked_and_recorded(no_network: list[str]) -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("203.0.113.7", 443), timeout=0.1)
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("api.openai.com", 443)
    assert len(no_network) == 2
    no_network.clear()  # recorded attempts would fail this test at teardown
