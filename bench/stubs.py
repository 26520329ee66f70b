"""Loopback stub vendors: many ``/mt/health`` endpoints on a few local ports.

Endpoint ``name`` answers ``GET /<name>/mt/health`` (and ``/mt/health`` answers as "root"). What
it answers is set per name (``modes``) or for a share of all names (``hang_percent``):

- ``healthy`` / ``degraded`` / ``unhealthy``: 200 with the standard body and that status
- ``error``: HTTP 500
- ``invalid``: 200 with a body that is not JSON
- ``hang``: never answers (the prober's total timeout ends the wait)

Every answer waits ``delay_ms`` first. Connections are kept alive and sockets use TCP_NODELAY.
The server binds 127.0.0.1 on port 0 only and never imports Django, so it can run in a thread
of a test or in a separate process of the benchmark (whose CPU time is then not the prober's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime

from aiohttp import web

MODES = ("healthy", "degraded", "unhealthy", "error", "invalid", "hang")
LISTEN_BACKLOG = 8192
HEALTH_PATH = "/mt/health"


def endpoint_name(index: int) -> str:
    return f"e{index}"


def stub_base_url(ports: list[int], index: int) -> str:
    """Where endpoint ``index`` lives: names are spread over the ports round-robin."""
    return f"http://127.0.0.1:{ports[index % len(ports)]}/{endpoint_name(index)}"


def _endpoint_of(path: str) -> str | None:
    """``/e12/mt/health`` → ``e12``; ``/mt/health`` → ``root``; anything else → None."""
    if path == HEALTH_PATH:
        return "root"
    name, _sep, rest = path[1:].partition("/")
    if name and "/" + rest == HEALTH_PATH:
        return name
    return None


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY on Linux; aiohttp also sets it on each connection.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


class StubVendors:
    """Health endpoints on ``ports`` loopback ports; ``hits`` counts requests per name."""

    def __init__(
        self,
        *,
        ports: int = 1,
        delay_ms: float = 0,
        hang_percent: float = 0,
        modes: Mapping[str, str] | None = None,
    ) -> None:
        self.port_count = max(1, ports)
        self.delay = max(0.0, delay_ms) / 1000
        self.hang_percent = max(0.0, hang_percent)
        self.modes = dict(modes or {})
        unknown = set(self.modes.values()) - set(MODES)
        if unknown:
            raise ValueError(f"unknown stub modes: {sorted(unknown)}")
        self.hits: Counter[str] = Counter()
        self.ports: list[int] = []
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stamp = (0, b"")

    # --- what each endpoint answers --------------------------------------------------------

    def mode_of(self, name: str) -> str:
        mode = self.modes.get(name)
        if mode is not None:
            return mode
        # A stable pseudo-random share of names hangs (crc32: the same names on every run).
        if self.hang_percent and zlib.crc32(name.encode()) % 10000 < self.hang_percent * 100:
            return "hang"
        return "healthy"

    def base_url(self, index: int) -> str:
        return stub_base_url(self.ports, index)

    def _timestamp(self) -> bytes:
        now = int(time.time())
        if self._stamp[0] != now:
            text = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._stamp = (now, text.encode())
        return self._stamp[1]

    def _body(self, status: str) -> bytes:
        return (
            b'{"status":"' + status.encode() + b'","version":"1.0.0","timestamp":"'
            + self._timestamp() + b'"}'
        )  # fmt: skip

    async def _health(self, request: web.BaseRequest) -> web.StreamResponse:
        name = _endpoint_of(request.path)
        if name is None or request.method != "GET":
            return web.Response(status=404, body=b'{"error":"not_found","message":"no route"}')
        self.hits[name] += 1
        mode = self.mode_of(name)
        if mode == "hang":
            await asyncio.sleep(3600)
        if self.delay:
            await asyncio.sleep(self.delay)
        if mode == "error":
            body = json.dumps({"error": "internal", "message": "stub failure"}).encode()
            return web.Response(status=500, body=body, content_type="application/json")
        if mode == "invalid":
            return web.Response(body=b"<html>not json</html>", content_type="text/html")
        return web.Response(body=self._body(mode), content_type="application/json")

    # --- running -----------------------------------------------------------------------------

    async def start_async(self) -> StubVendors:
        # The low-level server (no Application, router or middlewares): the stub's own CPU
        # cost per request stays small next to the prober's.
        server = web.Server(self._health, access_log=None, keepalive_timeout=75)
        self._runner = web.ServerRunner(server, shutdown_timeout=0.5)
        await self._runner.setup()
        for _ in range(self.port_count):
            sock = _listening_socket()
            self.ports.append(sock.getsockname()[1])
            await web.SockSite(self._runner, sock, backlog=LISTEN_BACKLOG).start()
        return self

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> StubVendors:
        """Serve from a daemon thread with its own event loop; returns once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:  # report start-up failures to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:  # handlers still "hanging"
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="stub-vendors", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            stopped = asyncio.run_coroutine_threadsafe(self.stop_async(), self._loop)
            with contextlib.suppress(Exception):
                stopped.result(15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(15)
            self._thread = None

    def __enter__(self) -> StubVendors:
        return self.start_in_thread()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve_in_process(connection, *, ports: int, delay_ms: float, hang_percent: float) -> None:
    """Entry point of the benchmark's stub process: sends back the ports, serves until told."""

    async def main() -> None:
        stubs = await StubVendors(
            ports=ports, delay_ms=delay_ms, hang_percent=hang_percent
        ).start_async()
        connection.send(stubs.ports)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, connection.recv)  # any message means stop
        connection.send((sum(stubs.hits.values()), time.process_time()))
        with contextlib.suppress(Exception):
            await stubs.stop_async()

    asyncio.run(main())
