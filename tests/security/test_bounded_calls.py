"""Promise 5: every vendor call is bounded - connect timeout, total deadline, size cap, no
redirects - whichever part of the market makes it.

The four callers are the lifecycle client (``VendorClient``, used by the executor and by
registration), the health probes (``probe_all_sync``, asyncio with httptools), the monthly
usage collection (``monitoring.usage``) and conformance runs started by the market
(``GuardedTransport``, the kit's transport inside the market). Each meets the same four hostile vendors on 127.0.0.1:

- a port that never completes the TCP handshake (only a connect timeout ends the wait);
- a server that drips one byte at a time, each well inside any per-read timeout (only a total
  deadline ends it);
- a 64 MiB body without a Content-Length (only a size cap ends it early);
- a redirect to a second, well-behaved local server (which must never be asked).

The budgets are set small so a broken bound shows up as a wrong outcome within seconds, never as
a hang: the dripping server sends 120 bytes over about 4 s, so a caller without a deadline gets
a complete (but useless) answer instead of a timeout.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from monitoring import usage
from monitoring.models import UsageReport
from services.conformance import conformance_run
from services.models import ConformanceRun, ServiceCredential
from services.vendor_client.client import VendorClient, VendorTarget
from services.vendor_client.kit_transport import GuardedTransport
from services.vendor_client.probe import ProbeTarget, probe_all_sync
from tests.factories import ManifestFactory, ServiceFactory, TenantFactory
from tests.services.conftest import json_reply, redirect
from vendorkit.conformance import TransportError

pytestmark = pytest.mark.django_db

CONNECT_TIMEOUT = 0.3
TOTAL_TIMEOUT = 1.0
VENDOR_CAP = 65536
PROBE_CAP = 16384
MONTH = date(2026, 2, 1)
ACTIVATED = {"status": "activated", "tenant_id": "t1", "access_url": "https://t1.example/"}


@pytest.fixture(autouse=True)
def _small_budgets(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]
    settings.VENDOR_CONNECT_TIMEOUT = CONNECT_TIMEOUT
    settings.VENDOR_TOTAL_TIMEOUT = TOTAL_TIMEOUT
    settings.VENDOR_MAX_RESPONSE_BYTES = VENDOR_CAP
    settings.PROBE_CONNECT_TIMEOUT = CONNECT_TIMEOUT
    settings.PROBE_TOTAL_TIMEOUT = TOTAL_TIMEOUT
    settings.PROBE_MAX_RESPONSE_BYTES = PROBE_CAP


def drip(count: int = 120, interval: float = 0.035):
    """Headers at once, then ``count`` spaces one by one: a complete answer after ~4 s."""

    def handle(h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(count))
        h.end_headers()
        h.wfile.flush()
        try:
            for _ in range(count):
                if stop.wait(interval):
                    return
                h.wfile.write(b" ")
                h.wfile.flush()
        except OSError:
            pass

    return handle


class Flood:
    """A body of ``size`` bytes without a Content-Length; records whether all of it went out."""

    def __init__(self, size: int = 64 * 1024 * 1024) -> None:
        self.size = size
        self.sent = 0
        self.finished = threading.Event()

    def __call__(self, h: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        chunk = b"x" * 65536
        try:
            while self.sent < self.size and not stop.is_set():
                h.wfile.write(chunk)
                self.sent += len(chunk)
        except OSError:
            return  # the caller hung up: what it had was enough
        if self.sent >= self.size:
            self.finished.set()


# --- the four callers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # what the market records or shows about the call


@dataclass(frozen=True)
class Caller:
    """How one part of the market calls a vendor: the path it asks, and the call itself."""

    name: str
    cap: int
    prepare: Callable[[str], tuple[str, Callable[[], Outcome]]]  # base URL -> (path, call)


def _lifecycle(base_url: str):
    target = VendorTarget(
        service_id="stub",
        base_url=base_url,
        endpoints={"tenant_activate": "/mt/tenant/{tenant_id}/activate"},
        api_key="k",
        signing_secrets=["s"],
    )

    def call() -> Outcome:
        with VendorClient(target) as client:
            result = client.activate("t1", {"tenant_id": "t1"}, request_id="r1")
        return Outcome(result.ok, f"{result.error_kind}: {result.error}")

    return "/mt/tenant/t1/activate", call


def _probe(base_url: str):
    def call() -> Outcome:
        [outcome] = probe_all_sync([ProbeTarget(key="s", url=f"{base_url}/mt/health")])
        return Outcome(outcome.state == "healthy", outcome.reason)

    return "/mt/health", call


def _usage(base_url: str):
    service = ServiceFactory(base_url=base_url)
    service.current_manifest = ManifestFactory(service=service)
    service.save(update_fields=["current_manifest"])
    tenant = TenantFactory(service=service, created_at=datetime(2026, 1, 5, tzinfo=UTC))

    def call() -> Outcome:
        ids = usage.usage_reports_prepare(month=MONTH)
        usage.usage_reports_collect(report_ids=ids)
        report = UsageReport.objects.get(tenant=tenant)
        return Outcome(report.state == UsageReport.State.COLLECTED, report.error)

    return f"/mt/tenant/{tenant.tenant_id}/usage", call


def _conformance(base_url: str):
    def call() -> Outcome:
        transport = GuardedTransport()
        try:
            reply = transport(
                "GET", f"{base_url}/mt/health", headers={}, body=b"", timeout=TOTAL_TIMEOUT
            )
        except TransportError as error:
            return Outcome(False, str(error))
        finally:
            transport.close()
        cut = " (cut)" if reply.truncated else ""
        return Outcome(
            reply.status == 200 and not reply.truncated,
            f"HTTP {reply.status}, {len(reply.body)} bytes{cut}",
        )

    return "/mt/health", call


CALLERS = [
    Caller("lifecycle client", VENDOR_CAP, _lifecycle),
    Caller("health probe", PROBE_CAP, _probe),
    Caller("usage collection", VENDOR_CAP, _usage),
    Caller("conformance transport", VENDOR_CAP, _conformance),
]
BY_NAME = pytest.mark.parametrize("caller", CALLERS, ids=[c.name for c in CALLERS])


# --- the four bounds ------------------------------------------------------------------------


@BY_NAME
def test_a_vendor_that_never_completes_the_handshake_is_given_up_at_the_connect_timeout(
    caller, blackhole, sockets
):
    _path, call = caller.prepare(blackhole.url())

    outcome = call()

    assert not outcome.ok
    assert "connect" in outcome.text.lower() and "timed out" in outcome.text.lower(), outcome.text
    tries = [attempt for attempt in sockets if attempt.port == blackhole.port]
    assert tries, "the caller never tried to connect"
    # The socket waited the connect timeout, not the whole call's budget (the probe's sockets are
    # non-blocking, 0.0: its connect timeout shows in the reason instead).
    for attempt in tries:
        assert attempt.timeout is not None and attempt.timeout <= CONNECT_TIMEOUT, attempt


@BY_NAME
def test_a_vendor_dripping_bytes_is_cut_off_at_the_total_deadline(caller, stub_server, sockets):
    server = stub_server()
    path, call = caller.prepare(server.url())
    server.routes[path] = drip()

    outcome = call()

    assert not outcome.ok
    assert f"within {TOTAL_TIMEOUT:g} s" in outcome.text, outcome.text


@BY_NAME
def test_a_flood_of_a_body_is_cut_at_the_size_cap(caller, stub_server, sockets):
    # 64 MiB: more than the kernel's socket buffers hold, so a caller that stops reading at its
    # cap makes the vendor's writes fail; a caller without a cap reads all of it.
    flood = Flood()
    server = stub_server()
    path, call = caller.prepare(server.url())
    server.routes[path] = flood

    outcome = call()
    server.stop()  # ends the handler either way, before asking how far it got

    assert not outcome.ok
    assert str(caller.cap) in outcome.text, outcome.text
    assert not flood.finished.is_set(), f"the caller read all {flood.sent} bytes"


@BY_NAME
def test_a_redirect_is_never_followed(caller, stub_server, sockets):
    elsewhere = stub_server()
    server = stub_server()
    path, call = caller.prepare(server.url())
    elsewhere.routes[path] = json_reply(200, ACTIVATED)
    server.routes[path] = redirect(elsewhere.url(path), status=307)

    outcome = call()

    assert not outcome.ok
    assert "307" in outcome.text, outcome.text
    assert len(server.requests) == 1
    assert elsewhere.requests == [], "the redirect was followed"
    assert {attempt.port for attempt in sockets} == {server.port}


# --- a conformance run started by the market uses the bounded transport end to end ----------


def _registered(base_url: str):
    service = ServiceFactory(base_url=base_url)
    service.current_manifest = ManifestFactory(service=service)
    service.save(update_fields=["current_manifest"])
    ServiceCredential.objects.create(service=service, api_key="k", signing_secret="s")
    return service


def test_a_conformance_run_against_a_dripping_vendor_ends_at_the_deadline(stub_server, sockets):
    server = stub_server({"/mt/health": drip()})

    run = conformance_run(service=_registered(server.url()))

    assert run.result == ConformanceRun.Result.ERROR
    detail = run.report["results"][0]["detail"]
    assert f"within {TOTAL_TIMEOUT:g} s" in detail, json.dumps(run.report)[:500]


def test_a_conformance_run_against_a_silent_port_ends_at_the_connect_timeout(blackhole, sockets):
    run = conformance_run(service=_registered(blackhole.url()))

    assert run.result == ConformanceRun.Result.ERROR
    tries = [attempt for attempt in sockets if attempt.port == blackhole.port]
    assert tries and all(a.timeout is not None and a.timeout <= CONNECT_TIMEOUT for a in tries)
