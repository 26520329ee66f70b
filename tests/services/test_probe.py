"""Health probes over real stub vendors on 127.0.0.1, and the guard on the async path."""

import asyncio
import json
import ssl
import threading
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.vendor_client import probe as probe_module
from services.vendor_client.probe import ProbeOutcome, ProbeTarget, probe_all, probe_all_sync
from services.vendor_client.schemas import health_problem, validation_problem
from tests.services.conftest import (
    drip,
    endless_chunked,
    hang,
    healthy_reply,
    huge,
    json_reply,
    raw_reply,
    redirect,
    reset_connection,
)
from tests.services.test_guard import DISGUISED_URLS

pytestmark = pytest.mark.usefixtures("connection_log")

# name -> (handler factory, expected state, words expected in the reason)
BEHAVIOURS = {
    "healthy": (lambda: healthy_reply("healthy", "2.1.0"), "healthy", ""),
    "degraded": (lambda: healthy_reply("degraded"), "degraded", "reports degraded"),
    "self_unhealthy": (lambda: healthy_reply("unhealthy"), "unhealthy", "reports unhealthy"),
    "http_500": (
        lambda: json_reply(500, {"error": "boom", "message": "x"}),
        "unhealthy",
        "HTTP 500",
    ),
    "http_404": (
        lambda: json_reply(404, {"error": "nope", "message": "x"}),
        "unhealthy",
        "HTTP 404",
    ),
    "garbage": (lambda: raw_reply(200, b"<html>hello</html>"), "unhealthy", "not JSON"),
    "empty": (lambda: raw_reply(200, b""), "unhealthy", "empty body"),
    "wrong_shape": (lambda: json_reply(200, {"status": "ok"}), "unhealthy", "health schema"),
    "no_timestamp": (
        lambda: json_reply(200, {"status": "healthy", "version": "1"}),
        "unhealthy",
        "timestamp",
    ),
    "slow": (hang, "unhealthy", "no complete answer within 2 s"),
    "drip": (lambda: drip(interval=0.2), "unhealthy", "no complete answer within 2 s"),
    "huge_declared": (lambda: huge(10 * 1024 * 1024), "unhealthy", "body larger than 16384 bytes"),
    "huge_streamed": (
        lambda: huge(10 * 1024 * 1024, declare_length=False),
        "unhealthy",
        "body larger than 16384 bytes",
    ),
    "endless": (endless_chunked, "unhealthy", "body larger than 16384 bytes"),
    "redirect": (
        lambda: redirect("http://169.254.169.254/"),
        "unhealthy",
        "redirect (HTTP 302) to http://169.254.169.254/ was not followed",
    ),
    "reset": (reset_connection, "unhealthy", "connection"),
    "extra_fields": (
        lambda: json_reply(
            200,
            {
                "status": "healthy",
                "version": "3",
                "timestamp": "2026-01-03T12:00:00+09:00",
                "checks": {"db": "ok"},
            },
        ),
        "healthy",
        "",
    ),
}


def run(coro):
    return asyncio.run(coro)


def test_fifty_stub_vendors_get_the_right_outcome_each(stub_server, allow_loopback, connection_log):
    names = list(BEHAVIOURS)
    plan = [names[i % len(names)] for i in range(50)]
    servers = [stub_server() for _ in range(5)]
    targets, expected = [], {}
    for index, name in enumerate(plan):
        server = servers[index % len(servers)]
        path = f"/v{index}/mt/health"
        factory, state, words = BEHAVIOURS[name]
        server.routes[path] = factory()
        targets.append(ProbeTarget(key=f"{name}-{index}", url=server.url(path)))
        expected[f"{name}-{index}"] = (state, words)

    outcomes = run(
        probe_all(
            targets,
            concurrency=100,
            per_host=0,
            connect_timeout=1.0,
            total_timeout=2.0,
            max_bytes=16384,
        )
    )

    assert [o.key for o in outcomes] == [t.key for t in targets]
    for outcome in outcomes:
        state, words = expected[outcome.key]
        assert outcome.state == state, (outcome.key, outcome.reason)
        assert words in outcome.reason, (outcome.key, outcome.reason)
        if state == "healthy":
            assert outcome.reason == ""
    by_key = {o.key: o for o in outcomes}
    assert by_key["healthy-0"].version == "2.1.0"
    assert by_key["healthy-0"].latency_ms >= 0
    assert {port for _host, port in connection_log} <= {s.port for s in servers}
    assert all(host == "127.0.0.1" for host, _port in connection_log)


def test_redirect_target_gets_no_request(stub_server, allow_loopback):
    target = stub_server({"/mt/health": healthy_reply()})
    server = stub_server({"/mt/health": redirect(target.url("/mt/health"), status=307)})

    [outcome] = probe_all_sync([ProbeTarget("s", server.url("/mt/health"))])

    assert outcome.state == "unhealthy"
    assert "HTTP 307" in outcome.reason
    assert target.requests == []


def test_probe_defaults_come_from_settings(stub_server, allow_loopback):
    allow_loopback.PROBE_MAX_RESPONSE_BYTES = 20
    server = stub_server({"/mt/health": healthy_reply()})

    [outcome] = probe_all_sync([ProbeTarget("s", server.url("/mt/health"))])

    assert outcome.state == "unhealthy"
    assert outcome.reason == "body larger than 20 bytes"


def test_probe_sends_identification_headers(stub_server, allow_loopback):
    server = stub_server({"/mt/health": healthy_reply()})

    probe_all_sync([ProbeTarget("s", server.url("/mt/health"))])

    headers = server.requests[0].headers
    assert headers["User-Agent"] == "ServiceMarket/1.0"
    assert headers["Accept"] == "application/json"
    assert headers["X-Market-Request-Id"]
    assert headers["X-Market-Timestamp"].isdigit()


def test_a_global_concurrency_of_one_still_probes_everyone(stub_server, allow_loopback):
    server = stub_server({f"/h{i}": healthy_reply() for i in range(5)})
    targets = [ProbeTarget(i, server.url(f"/h{i}")) for i in range(5)]

    outcomes = probe_all_sync(targets, concurrency=1)

    assert [o.state for o in outcomes] == ["healthy"] * 5


def test_no_targets_means_no_outcomes():
    assert probe_all_sync([]) == []


def test_a_closed_port_is_unhealthy_with_a_reason(allow_loopback):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    [outcome] = probe_all_sync([ProbeTarget("s", f"http://127.0.0.1:{port}/mt/health")])

    assert outcome.state == "unhealthy"
    assert "connection failed" in outcome.reason


@pytest.mark.parametrize("url", ["not a url", "http://[::1/", "ftp://x/", "", "http://:80/"])
def test_malformed_targets_become_outcomes_not_exceptions(url, no_allowlist):
    [outcome] = probe_all_sync([ProbeTarget("s", url)])

    assert outcome.state == "unhealthy"
    assert outcome.reason


# --- the connection: keep-alive, framing, limits, TLS ---------------------------------------


def closes_after_answering() -> object:
    """A healthy answer that announces keep-alive, then the server closes the socket anyway."""
    reply = healthy_reply()

    def handle(h, stop):
        reply(h, stop)
        h.close_connection = True

    return handle


def answer_until_close():
    """An HTTP/1.1 answer without Content-Length or chunking: its body ends with the socket."""

    def handle(h, stop):
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        h.wfile.write(b'{"status": "healthy", "version": "9", "timestamp": "2026-01-03T12:00:00Z"}')

    return handle


class ConcurrencyMeter:
    """A slow healthy handler that remembers the most requests it was serving at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __call__(self, h, stop):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1
        healthy_reply()(h, stop)


def test_probes_of_one_vendor_share_kept_alive_connections(
    stub_server, allow_loopback, connection_log
):
    server = stub_server({f"/h{i}": healthy_reply() for i in range(20)})
    targets = [ProbeTarget(i, server.url(f"/h{i}")) for i in range(20)]

    outcomes = probe_all_sync(targets, concurrency=2)

    assert [o.state for o in outcomes] == ["healthy"] * 20
    assert len(connection_log) <= 2
    ids = [request.headers["X-Market-Request-Id"] for request in server.requests]
    assert len(set(ids)) == 20
    assert all(uuid.UUID(value).version == 4 for value in ids)


def test_a_kept_alive_connection_the_vendor_closed_is_replaced(stub_server, allow_loopback):
    server = stub_server({"/mt/health": closes_after_answering()})
    targets = [ProbeTarget(i, server.url("/mt/health")) for i in range(4)]

    outcomes = probe_all_sync(targets, concurrency=1)

    assert [o.state for o in outcomes] == ["healthy"] * 4, outcomes
    assert len(server.requests) == 4


def test_an_answer_delimited_by_closing_the_connection_is_read_whole(stub_server, allow_loopback):
    server = stub_server({"/mt/health": answer_until_close()})

    [outcome] = probe_all_sync([ProbeTarget("s", server.url("/mt/health"))])

    assert (outcome.state, outcome.version) == ("healthy", "9"), outcome


@pytest.mark.parametrize(("per_host", "most"), [(1, 1), (0, 6)])
def test_the_per_vendor_limit_caps_requests_in_flight(stub_server, allow_loopback, per_host, most):
    meter = ConcurrencyMeter()
    server = stub_server({"/mt/health": meter})
    targets = [ProbeTarget(i, server.url("/mt/health")) for i in range(6)]

    outcomes = probe_all_sync(targets, concurrency=10, per_host=per_host)

    assert [o.state for o in outcomes] == ["healthy"] * 6
    assert meter.most == most


def test_tls_probes_check_the_certificate_and_send_the_host_name(tls_server, monkeypatch):
    server, ca_file, seen_sni = tls_server("vendor.test")
    monkeypatch.setattr(
        probe_module._Prober,
        "_tls_context",
        lambda self: ssl.create_default_context(cafile=ca_file),
    )

    [outcome] = probe_all_sync([ProbeTarget("s", f"https://vendor.test:{server.port}/mt/health")])

    assert outcome.state == "healthy", outcome.reason
    assert seen_sni == ["vendor.test"]


def test_tls_probes_refuse_a_certificate_for_another_name(tls_server, monkeypatch):
    server, ca_file, _seen = tls_server("other.test")
    monkeypatch.setattr(
        probe_module._Prober,
        "_tls_context",
        lambda self: ssl.create_default_context(cafile=ca_file),
    )

    [outcome] = probe_all_sync([ProbeTarget("s", f"https://vendor.test:{server.port}/mt/health")])

    assert outcome.state == "unhealthy"
    assert "TLS handshake failed" in outcome.reason, outcome.reason
    assert server.requests == []


# --- the guard on the async path ------------------------------------------------------------


@pytest.mark.usefixtures("no_allowlist")
def test_disguised_private_addresses_are_refused_without_connecting(connection_log):
    targets = [ProbeTarget(url, url) for url in DISGUISED_URLS]

    outcomes = probe_all_sync(targets)

    assert [o.key for o in outcomes] == DISGUISED_URLS
    for outcome in outcomes:
        assert outcome.state == "unhealthy"
        assert outcome.reason.startswith("Refused to call "), outcome
    assert connection_log == []


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "::1", "fe80::1", "100.64.0.1"])
def test_a_name_resolving_to_a_private_address_is_refused_by_the_resolver(
    address, fake_dns, connection_log
):
    fake_dns({"vendor.test": [[address]]})

    [outcome] = probe_all_sync([ProbeTarget("s", "https://vendor.test/mt/health")])

    assert outcome.state == "unhealthy"
    assert outcome.reason.startswith("Refused to call vendor.test (")
    assert connection_log == []


@pytest.mark.usefixtures("no_allowlist")
def test_a_name_with_one_public_and_one_private_address_is_refused(fake_dns, connection_log):
    fake_dns({"vendor.test": [["93.184.216.34", "10.0.0.1"]]})

    [outcome] = probe_all_sync([ProbeTarget("s", "https://vendor.test/mt/health")])

    assert "10.0.0.1" in outcome.reason
    assert connection_log == []


def test_dns_rebinding_cannot_redirect_a_probe(stub_server, settings, fake_dns, connection_log):
    server = stub_server({"/mt/health": healthy_reply()})
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{server.port}"]
    lookups = fake_dns({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    target = ProbeTarget("s", f"http://rebind.test:{server.port}/mt/health")

    first = probe_all_sync([target])
    second = probe_all_sync([target])

    assert first[0].state == "healthy", first[0].reason
    assert second[0].state == "unhealthy"
    assert "10.0.0.1" in second[0].reason
    assert server.requests[0].headers["Host"] == f"rebind.test:{server.port}"
    assert len(server.requests) == 1
    assert lookups.count("rebind.test") == 2
    assert connection_log == [("127.0.0.1", server.port)]


def test_allowlist_port_is_respected_by_probes(stub_server, settings, connection_log):
    server = stub_server({"/mt/health": healthy_reply()})
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{server.port + 1}"]

    [outcome] = probe_all_sync([ProbeTarget("s", server.url("/mt/health"))])

    assert outcome.reason.startswith("Refused to call 127.0.0.1")
    assert server.requests == []
    assert connection_log == []


def test_outcomes_are_plain_values():
    outcome = ProbeOutcome("k", "healthy", 3, "", "1.0")
    assert outcome == ProbeOutcome("k", "healthy", 3, "", "1.0")


# --- the fast path agrees with the schema ---------------------------------------------------

_values = st.one_of(
    st.sampled_from(["healthy", "degraded", "unhealthy", "ok", "", "HEALTHY"]),
    st.sampled_from(["2026-01-03T12:00:00Z", "2026-01-03T12:00:00.5+09:00", "2026-01-03", "x"]),
    st.text(max_size=5),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
_bodies = st.one_of(
    st.fixed_dictionaries({"status": _values, "version": _values, "timestamp": _values}),
    st.dictionaries(
        st.sampled_from(["status", "version", "timestamp", "extra"]), _values, max_size=4
    ),
    _values,
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(_bodies)
def test_health_fast_path_agrees_with_the_full_schema(body):
    assert (health_problem(body) is None) == (validation_problem("health", body) is None)


def test_health_fast_path_rejects_what_the_schema_rejects():
    body = {"status": "healthy", "version": "", "timestamp": "2026-01-03T12:00:00Z"}
    assert health_problem(body) is not None
    assert health_problem(json.loads('{"status": "healthy", "version": "1", "timestamp": 5}'))
