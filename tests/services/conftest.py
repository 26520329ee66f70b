"""Stub vendor servers on 127.0.0.1 and a socket tripwire for the vendor-client tests."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Handler = Callable[[BaseHTTPRequestHandler, threading.Event], None]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# --- response behaviours ------------------------------------------------------------------


def raw_reply(
    status: int, body: bytes, *, content_type: str = "application/json", headers=None
) -> Handler:
    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    return handle


def json_reply(status: int, payload, *, headers=None) -> Handler:
    return raw_reply(status, json.dumps(payload).encode(), headers=headers)


def healthy_reply(state: str = "healthy", version: str = "1.0.0") -> Handler:
    return json_reply(
        200, {"status": state, "version": version, "timestamp": "2026-01-03T12:00:00Z"}
    )


def hang() -> Handler:
    """Accept the request and never answer (until the server stops)."""

    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        stop.wait(60)

    return handle


def drip(interval: float = 1.0) -> Handler:
    """Send headers, then one body byte per ``interval`` seconds for as long as anyone listens."""

    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.flush()
        try:
            while not stop.wait(interval):
                h.wfile.write(b" ")
                h.wfile.flush()
        except OSError:
            pass

    return handle


def huge(size: int, *, declare_length: bool = True) -> Handler:
    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if declare_length:
            h.send_header("Content-Length", str(size))
        h.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size and not stop.is_set():
                h.wfile.write(chunk[: size - sent])
                sent += len(chunk)
        except OSError:
            pass

    return handle


def endless_chunked() -> Handler:
    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"[" * 4096
        try:
            while not stop.is_set():
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    return raw_reply(status, b"", headers={"Location": location})


def reset_connection() -> Handler:
    """Close the TCP connection with a RST instead of answering."""

    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()

    return handle


def sequence(*handlers: Handler) -> Handler:
    """Answer with each handler in turn, repeating the last one."""
    calls = []

    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        index = min(len(calls), len(handlers) - 1)
        calls.append(index)
        handlers[index](h, stop)

    return handle


# --- the server ---------------------------------------------------------------------------


class _ListeningServer(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a burst of connections (a prober
    # opening dozens at once), and the kernel retries them only after a second.
    request_queue_size = 128


class StubServer:
    """A threaded HTTP/1.1 server on 127.0.0.1:<free port> answering per path (query ignored)."""

    def __init__(self, routes: dict[str, Handler] | None = None, *, tls=None) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.routes: dict[str, Handler] = dict(routes or {})
        self.requests: list[RecordedRequest] = []
        self.stop_event = threading.Event()
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append(
                    RecordedRequest(self.command, self.path, dict(self.headers.items()), body)
                )
                handler = stub.routes.get(self.path.split("?", 1)[0])
                if handler is None:
                    handler = json_reply(404, {"error": "not_found", "message": self.path})
                handler(self, stub.stop_event)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = _ListeningServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def url(self, path: str = "") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stub_server():
    """Factory: ``stub_server({"/mt/health": healthy_reply()})`` -> a running StubServer."""
    servers: list[StubServer] = []

    def start(routes: dict[str, Handler] | None = None, *, tls=None) -> StubServer:
        server = StubServer(routes, tls=tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def no_allowlist(settings):
    """The suite's environment allowlists 127.0.0.1:* for stub vendors; guard tests start empty."""
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def allow_loopback(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]
    return settings


# --- the tripwire -------------------------------------------------------------------------


@pytest.fixture
def connection_log(monkeypatch):
    """Every TCP connect attempted during the test, as (host, port).

    Connects to anything but loopback are refused before the system call, so a failing guard
    fails the test without a packet leaving the machine.
    """
    attempts: list[tuple[str, int]] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _gate(address) -> None:
        if not isinstance(address, tuple):
            return  # unix sockets
        host, port = address[0], address[1]
        attempts.append((host, port))
        if not ipaddress.ip_address(host.split("%", 1)[0]).is_loopback:
            raise ConnectionRefusedError(f"test tripwire: refused connect to {host}:{port}")

    def guarded_connect(self, address):
        _gate(address)
        return real_connect(self, address)

    def guarded_connect_ex(self, address):
        _gate(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    return attempts


@pytest.fixture
def fake_dns(monkeypatch):
    """``fake_dns({"vendor.test": [["1.2.3.4"], ["10.0.0.1"]]})``: successive answers per name.

    The last answer repeats. Names not listed fail to resolve (no real DNS traffic); IP
    literals resolve as the system would.
    """
    real_getaddrinfo = socket.getaddrinfo
    calls: list[str] = []

    def install(answers: dict[str, list[list[str]]]):
        remaining = {name: list(values) for name, values in answers.items()}

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            name = host.decode() if isinstance(host, bytes) else host
            calls.append(name)
            if name not in remaining:
                try:
                    ipaddress.ip_address(name)
                except ValueError:
                    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
                return real_getaddrinfo(host, port, family, type, proto, flags)
            queue = remaining[name]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            result = []
            for address in addresses:
                if ":" in address:
                    result.append(
                        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0))
                    )
                else:
                    result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))))
            return result

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return calls

    return install


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll until ``predicate()`` holds (for server-side effects that land after the reply)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# --- https vendors ------------------------------------------------------------------------

STATUS_BODY = {"tenant_id": "t1", "status": "active"}


def _certificate(common_name: str, issuer_key=None, issuer_name=None, *, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert


def _pem(key, cert) -> tuple[bytes, bytes]:
    return (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )


@pytest.fixture
def tls_server(tmp_path, stub_server, settings, fake_dns):
    """An https stub on 127.0.0.1 whose certificate names ``cert_name``; returns (server, ca)."""

    def start(cert_name: str):
        ca_key, ca_cert = _certificate("Test CA", ca=True)
        key, cert = _certificate(cert_name, ca_key, ca_cert.subject)
        key_pem, cert_pem = _pem(key, cert)
        (tmp_path / "server.key").write_bytes(key_pem)
        (tmp_path / "server.pem").write_bytes(cert_pem)
        (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
        seen_sni: list[str | None] = []
        context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
        routes = {
            "/mt/tenant/t1/status": json_reply(200, STATUS_BODY),
            "/mt/health": healthy_reply(),
        }
        server = stub_server(routes, tls=context)
        settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{server.port}"]
        fake_dns({"vendor.test": [["127.0.0.1"]]})
        return server, str(tmp_path / "ca.pem"), seen_sni

    return start
