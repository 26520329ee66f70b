"""The requests transport for outbound calls: guarded connections and a hard total deadline.

``GuardedHTTPAdapter`` swaps urllib3's connection classes for ones that resolve the host once,
check every address with the guard, and connect to exactly the checked address. The Host
header, TLS SNI and certificate check keep using the host name, because only ``_new_conn`` (the
TCP connect) is replaced.

``CallDeadline`` bounds a whole call. A per-read timeout alone cannot stop a server that drips
one byte a second, because each read succeeds; so a watchdog thread (one per process) shuts
the call's sockets down when the deadline passes, which makes any blocked read return at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import sys
import threading
import time

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import _set_socket_options

from market.lib.outbound.guard import Allowlist, resolve_checked

_current_deadline: contextvars.ContextVar[CallDeadline | None] = contextvars.ContextVar(
    "outbound_call_deadline", default=None
)
# The allowlist a call was made with; None means the settings' (VENDOR_ALLOWED_PRIVATE_HOSTS).
_current_allowlist: contextvars.ContextVar[Allowlist | None] = contextvars.ContextVar(
    "outbound_call_allowlist", default=None
)

# Deadlines and latencies use perf_counter: real elapsed time that a test's travelling clock
# (time-machine moves time.monotonic) cannot stretch or shrink.

# Never wait less than this on a socket: a zero timeout would make it non-blocking instead.
_MIN_WAIT = 0.001


class CallDeadline:
    """A wall-clock budget for one vendor call; use as a context manager around the call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires_at = time.perf_counter() + seconds
        self.expired = False
        self.finished = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._token: contextvars.Token | None = None

    def __enter__(self) -> CallDeadline:
        self._token = _current_deadline.set(self)
        _watchdog.watch(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self.finished = True
            self._sockets.clear()
        _watchdog.forget_finished()
        if self._token is not None:
            _current_deadline.reset(self._token)

    def remaining(self) -> float:
        return max(_MIN_WAIT, self.expires_at - time.perf_counter())

    def passed(self) -> bool:
        return self.expired or time.perf_counter() >= self.expires_at

    def watch(self, sock: socket.socket | None) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it already has)."""
        if sock is None:
            return
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


class _Watchdog:
    """One thread per process that expires every running ``CallDeadline`` at its time.

    A ``threading.Timer`` per call started and stopped a thread for every vendor call, which
    cost more CPU than a small call itself. Deadlines wait in a heap; finished ones are dropped
    from its top as calls end, so the thread wakes about once per deadline length, not per call.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, CallDeadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: CallDeadline) -> None:
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vendor-call-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline.expires_at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._condition.notify()  # an earlier deadline than the thread waits for

    def forget_finished(self) -> None:
        with self._condition:
            while self._heap and self._heap[0][2].finished:
                heapq.heappop(self._heap)

    def _run(self) -> None:
        while True:
            due = []
            with self._condition:
                now = time.perf_counter()
                while self._heap and (self._heap[0][2].finished or self._heap[0][0] <= now):
                    _expires_at, _order, deadline = heapq.heappop(self._heap)
                    if not deadline.finished:
                        due.append(deadline)
                if not due:
                    wait = self._heap[0][0] - now if self._heap else None
                    self._condition.wait(wait)
                    continue
            for deadline in due:
                deadline._expire()

    def _after_fork_in_child(self) -> None:
        # A forked worker process inherits the heap but not the thread: start afresh.
        self._condition = threading.Condition()
        self._heap = []
        self._thread = None


_watchdog = _Watchdog()
os.register_at_fork(after_in_child=_watchdog._after_fork_in_child)


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter also drops the TLS object,
    # which would turn the reader's clean EOF into an unrelated ValueError.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def current_deadline() -> CallDeadline | None:
    return _current_deadline.get()


@contextlib.contextmanager
def allowlist_in_force(allowlist: Allowlist | None):
    """Connections opened inside the block are checked against ``allowlist``."""
    token = _current_allowlist.set(allowlist)
    try:
        yield
    finally:
        _current_allowlist.reset(token)


def _bounded(timeout: float | None) -> float | None:
    deadline = current_deadline()
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    return remaining if timeout is None else min(timeout, remaining)


def connect_checked(host: str, port: int, timeout: float | None, socket_options) -> socket.socket:
    """Open a TCP connection to a guard-checked address of ``host`` (never re-resolving)."""
    last_error: OSError | None = None
    for family, sockaddr in resolve_checked(host, port, allowlist=_current_allowlist.get()):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            _set_socket_options(sock, socket_options)
            sock.settimeout(timeout)
            deadline = current_deadline()
            if deadline is not None:
                deadline.watch(sock)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last_error = exc
            sock.close()
    assert last_error is not None  # resolve_checked never returns an empty list
    raise last_error


class _GuardedConnectionMixin:
    """Replaces the TCP connect of urllib3's connections with a guarded one."""

    def _new_conn(self) -> socket.socket:
        timeout = _bounded(self.timeout)
        try:
            sock = connect_checked(self._dns_host, self.port, timeout, self.socket_options)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={timeout})"
            ) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def request(self, *args, **kwargs):
        # A kept-alive connection was opened by an earlier call: watch it for this call too.
        deadline = current_deadline()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().request(*args, **kwargs)

    def getresponse(self):
        self.timeout = _bounded(self.timeout)
        deadline = current_deadline()
        if deadline is not None:
            deadline.watch(self.sock)
        return super().getresponse()


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedHTTPAdapter(HTTPAdapter):
    """An adapter whose every connection goes through the private-address guard."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_retries", 0)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, *args, **kwargs):
        # A proxy would connect on our behalf to an address we never checked.
        raise RuntimeError("outbound calls never go through a proxy")
