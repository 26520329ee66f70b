"""Fixtures of the security proofs: stub vendors, a socket tripwire, and a listener that never
accepts (to prove the connect timeout)."""

from __future__ import annotations

import _socket
import contextlib
import ipaddress
import socket
from dataclasses import dataclass

import pytest

# The vendor-client tests' stub servers and fake DNS, shared rather than copied.
from tests.services.conftest import fake_dns, stub_server  # noqa: F401


@dataclass(frozen=True)
class Connect:
    """One TCP connect attempt: where to, and the socket timeout it was made with."""

    host: str
    port: int
    timeout: float | None


@pytest.fixture
def sockets(monkeypatch):
    """Every TCP connect attempted during the test, with its timeout.

    A connect to anything but loopback is refused before the system call, so a failing guard
    fails the test without a packet leaving the machine.
    """
    attempts: list[Connect] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def gate(sock: socket.socket, address) -> None:
        if not isinstance(address, tuple):
            return  # unix sockets
        host, port = address[0], address[1]
        attempts.append(Connect(host, port, sock.gettimeout()))
        if not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
            raise ConnectionRefusedError(f"test tripwire: refused connect to {host}:{port}")

    def connect(self, address):
        gate(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        gate(self, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


class Blackhole:
    """A port on 127.0.0.1 whose accept queue is full, so a new connect is never completed.

    The kernel drops the SYN of every further client (the queue of a ``listen(0)`` socket holds
    one connection), which is what a firewalled or overloaded vendor looks like: only a connect
    timeout ends the wait.
    """

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self._fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                # The C-level connect: a test's tripwire must not count the fillers.
                _socket.socket.connect(filler, ("127.0.0.1", self.port))
            self._fillers.append(filler)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self.listener.close()


@pytest.fixture
def blackhole():
    hole = Blackhole()
    yield hole
    hole.close()


@pytest.fixture
def no_allowlist(settings):
    """The suite allowlists 127.0.0.1:* for stub vendors; guard proofs start with nothing allowed."""
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []
    return settings
