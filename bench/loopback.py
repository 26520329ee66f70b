"""Cheap loopback stub vendors for the benchmarks, each run as its own process.

    python -m bench.loopback health --ports 8 --delay-ms 50 --hang-percent 1
    python -m bench.loopback vendor --delay-ms 200

A process prints one JSON line (``{"ports": [...]}``) once it listens on 127.0.0.1, then serves
until SIGTERM or SIGINT. It speaks just enough HTTP/1.1 on raw asyncio protocols (keep-alive,
``Content-Length`` bodies, no pipelining, TCP_NODELAY on every socket) that its own CPU cost per
request stays a small fraction of the prober's: the benchmarks measure the market and its peer,
not the stubs. ``bench.stubs.StubVendors`` (aiohttp, in a thread) stays the stub of the tests.

- ``health``: endpoint ``e<i>`` answers ``GET /e<i>/mt/health`` with the standard's healthy
  body after ``delay_ms``; every ``round(100 / hang_percent)``-th endpoint (exactly
  ``hang_percent`` % of them, see ``hangs``) never answers.
- ``webhook``: webhook receivers under any path, answering 200 after ``delay_ms``; counts the
  distinct ``webhook-id`` values and the most requests in flight to one path (one endpoint).
- ``vendor``: a standard vendor for lifecycle and usage calls under any base path
  (``.../mt/tenant/<id>/activate|deactivate|status|usage``, ``.../mt/health``), answering after
  ``delay_ms``. It counts requests in flight (the most at once), and the distinct
  ``X-Market-Request-Id`` values per call kind.

Both answer ``GET /_bench/stats`` at once (counts, ``max_concurrent``, its own CPU seconds) and
``POST /_bench/reset`` (zero the counts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

LISTEN_BACKLOG = 8192
STATS_PATH = "/_bench/stats"
RESET_PATH = "/_bench/reset"
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
TENANT_CALL = re.compile(r"/mt/tenant/([^/]+)/(activate|deactivate|status|usage|update|delete)$")


# --- which health endpoints hang -------------------------------------------------------------


def hang_step(hang_percent: float) -> int:
    """Every ``step``-th endpoint hangs; 0 means none does."""
    if hang_percent <= 0:
        return 0
    return max(1, round(100 / hang_percent))


def hangs(index: int, hang_percent: float) -> bool:
    """Whether health endpoint ``index`` never answers (the last of every ``step``)."""
    step = hang_step(hang_percent)
    return bool(step) and index % step == step - 1


def hanging_count(size: int, hang_percent: float) -> int:
    step = hang_step(hang_percent)
    return size // step if step else 0


def health_url(ports: list[int], index: int) -> str:
    """The health URL of endpoint ``index``; endpoints are spread over the ports round-robin."""
    return f"{base_url(ports, index)}/mt/health"


def base_url(ports: list[int], index: int) -> str:
    return f"http://127.0.0.1:{ports[index % len(ports)]}/e{index}"


# --- a minimal HTTP/1.1 server ---------------------------------------------------------------


class Request:
    __slots__ = ("method", "path", "query", "headers", "body")

    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = unquote(parts.path)
        self.query = parts.query
        self.headers = headers
        self.body = body


class _Connection(asyncio.Protocol):
    def __init__(self, stub: Stub) -> None:
        self.stub = stub
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _sep, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            try:
                method, target, _version = lines[0].split(" ", 2)
            except ValueError:
                self._write(400, b'{"error":"invalid_request","message":"bad request line"}', True)
                return
            close = headers.get("connection", "").lower() == "close"
            self.stub.dispatch(self, Request(method, target, headers, body), close)

    def _write(self, status: int, body: bytes, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        transport.write(head.encode("latin-1") + body)
        if close:
            transport.close()


class Stub:
    """Routes requests to ``answer``; answers after ``delay`` seconds (None: never)."""

    def __init__(self, *, delay_ms: float) -> None:
        self.delay = max(0.0, delay_ms) / 1000
        self.loop: asyncio.AbstractEventLoop | None = None
        self.requests: Counter[str] = Counter()
        self.request_ids: dict[str, set[str]] = {}
        self.in_flight = 0
        self.max_concurrent = 0

    # What to answer: (status, body) or None to never answer. Subclasses decide.
    def answer(self, request: Request) -> tuple[int, bytes] | None:
        raise NotImplementedError

    def dispatch(self, connection: _Connection, request: Request, close: bool) -> None:
        if request.path == STATS_PATH:
            connection._write(200, json.dumps(self.stats()).encode(), close)
            return
        if request.path == RESET_PATH:
            self.reset()
            connection._write(200, b'{"status":"reset"}', close)
            return
        answer = self.answer(request)
        if answer is None:
            return  # never answers; the client's timeout ends the wait
        self.in_flight += 1
        self.max_concurrent = max(self.max_concurrent, self.in_flight)
        self.loop.call_later(self.delay, self._finish, connection, answer, close)

    def _finish(self, connection: _Connection, answer: tuple[int, bytes], close: bool) -> None:
        self.in_flight -= 1
        connection._write(answer[0], answer[1], close)

    def count(self, kind: str, request: Request) -> None:
        self.requests[kind] += 1
        request_id = request.headers.get("x-market-request-id")
        if request_id:
            self.request_ids.setdefault(kind, set()).add(request_id)

    def stats(self) -> dict:
        cpu = os.times()
        return {
            "requests": dict(self.requests),
            "distinct_request_ids": {k: len(v) for k, v in self.request_ids.items()},
            "max_concurrent": self.max_concurrent,
            "in_flight": self.in_flight,
            "cpu_seconds": round(cpu.user + cpu.system, 3),
        }

    def reset(self) -> None:
        self.requests.clear()
        self.request_ids.clear()
        self.max_concurrent = self.in_flight


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HealthStub(Stub):
    """Many health endpoints: ``/e<i>/mt/health``; a fixed share never answers."""

    def __init__(self, *, delay_ms: float, hang_percent: float) -> None:
        super().__init__(delay_ms=delay_ms)
        self.hang_percent = hang_percent
        self._stamp = (0, b"")

    def _body(self) -> bytes:
        now = int(time.time())
        if self._stamp[0] != now:
            self._stamp = (
                now,
                json.dumps({"status": "healthy", "version": "1.0.0", "timestamp": _timestamp()})
                .replace(" ", "")
                .encode(),
            )
        return self._stamp[1]

    def answer(self, request: Request) -> tuple[int, bytes] | None:
        name, _sep, rest = request.path[1:].partition("/")
        if request.method != "GET" or rest != "mt/health" or not name.startswith("e"):
            return 404, b'{"error":"not_found","message":"no such endpoint"}'
        self.requests["health"] += 1
        try:
            index = int(name[1:])
        except ValueError:
            return 404, b'{"error":"not_found","message":"no such endpoint"}'
        if hangs(index, self.hang_percent):
            self.requests["hang"] += 1
            return None
        return 200, self._body()


class VendorStub(Stub):
    """A standard vendor under any base path: activate, deactivate, status, usage, health."""

    def answer(self, request: Request) -> tuple[int, bytes] | None:
        if request.path.endswith("/mt/health"):
            self.count("health", request)
            body = {"status": "healthy", "version": "1.0.0", "timestamp": _timestamp()}
            return 200, json.dumps(body).encode()
        match = TENANT_CALL.search(request.path)
        if match is None:
            return 404, b'{"error":"not_found","message":"no such endpoint"}'
        tenant_id, kind = match.groups()
        self.count(kind, request)
        if kind == "activate":
            body = {
                "status": "activated",
                "tenant_id": tenant_id,
                "access_url": f"https://{tenant_id}.vendor.example/",
                "admin_credentials": {"temp_password": "bench-password"},
            }
        elif kind == "deactivate":
            body = {
                "status": "deactivated",
                "tenant_id": tenant_id,
                "data_preserved": True,
                "reactivation_deadline": None,
            }
        elif kind == "usage":
            month = (parse_qs(request.query).get("month") or [""])[0]
            body = {
                "tenant_id": tenant_id,
                "period": month,
                "usage": {"api_calls": 1200, "ai_tokens": 50000, "storage_gb": 1.5,
                          "active_users": 40},
            }  # fmt: skip
        elif kind == "status":
            body = {
                "tenant_id": tenant_id,
                "status": "active",
                "plan": "basic",
                "created_at": _timestamp(),
                "users": {"total": 1, "active_today": 0},
                "storage": {"used_gb": 0, "limit_gb": 10},
            }
        else:
            body = {"status": "updated", "tenant_id": tenant_id, "plan": "basic"}
        return 200, json.dumps(body).encode()


class WebhookStub(Stub):
    """A webhook receiver under any path: 200 after ``delay_ms``; counts distinct webhook-ids
    and the most requests in flight per path (an endpoint)."""

    def __init__(self, *, delay_ms: float) -> None:
        super().__init__(delay_ms=delay_ms)
        self.per_path: Counter[str] = Counter()
        self.max_per_path = 0

    def answer(self, request: Request) -> tuple[int, bytes] | None:
        self.requests["webhook"] += 1
        message_id = request.headers.get("webhook-id")
        if message_id:
            self.request_ids.setdefault("webhook", set()).add(message_id)
        self.per_path[request.path] += 1
        self.max_per_path = max(self.max_per_path, self.per_path[request.path])
        return 200, b"{}"

    def _finish(self, connection, answer, close) -> None:
        super()._finish(connection, answer, close)
        path = getattr(connection, "last_path", None)
        if path is not None:
            self.per_path[path] -= 1

    def dispatch(self, connection, request, close) -> None:
        connection.last_path = request.path
        super().dispatch(connection, request, close)

    def stats(self) -> dict:
        return {**super().stats(), "max_concurrent_per_endpoint": self.max_per_path}

    def reset(self) -> None:
        super().reset()
        self.max_per_path = 0


def stub_stats(base_url: str, *, reset: bool = False) -> dict:
    """A running stub's counters (``GET /_bench/stats``), or zero them (``POST /_bench/reset``)."""
    import urllib.request

    url = base_url + (RESET_PATH if reset else STATS_PATH)
    request = urllib.request.Request(url, method="POST" if reset else "GET")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.load(response)


# --- running as a process --------------------------------------------------------------------


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(LISTEN_BACKLOG)
    sock.setblocking(False)
    return sock


async def serve(stub: Stub, *, ports: int) -> None:
    loop = asyncio.get_running_loop()
    stub.loop = loop
    servers = []
    for _ in range(max(1, ports)):
        sock = _listening_socket()
        servers.append(await loop.create_server(lambda: _Connection(stub), sock=sock))
    numbers = [server.sockets[0].getsockname()[1] for server in servers]
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sys.stdout.write(json.dumps({"ports": numbers, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    await stop.wait()
    for server in servers:
        server.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.loopback", description=__doc__)
    kinds = parser.add_subparsers(dest="kind", required=True)
    health = kinds.add_parser("health", help="many /mt/health endpoints")
    health.add_argument("--ports", type=int, default=8)
    health.add_argument("--delay-ms", type=float, default=50)
    health.add_argument("--hang-percent", type=float, default=1)
    vendor = kinds.add_parser("vendor", help="a standard vendor for lifecycle and usage calls")
    vendor.add_argument("--ports", type=int, default=1)
    vendor.add_argument("--delay-ms", type=float, default=200)
    webhook = kinds.add_parser("webhook", help="webhook receivers under any path")
    webhook.add_argument("--ports", type=int, default=8)
    webhook.add_argument("--delay-ms", type=float, default=50)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.kind == "health":
        stub: Stub = HealthStub(delay_ms=args.delay_ms, hang_percent=args.hang_percent)
    elif args.kind == "webhook":
        stub = WebhookStub(delay_ms=args.delay_ms)
    else:
        stub = VendorStub(delay_ms=args.delay_ms)
    asyncio.run(serve(stub, ports=args.ports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
