"""``market.lib.outbound.request``: the guarded entry point for non-vendor callers.

Real HTTP against stub servers on 127.0.0.1: every fault ends as data (never an exception),
redirects are not followed, the size cap and the deadline hold, the guard refuses private
addresses unless the given allowlist says otherwise, and no cookie travels to the next call.
"""

from __future__ import annotations

import socket

import pytest

from market.lib.outbound import Allowlist, guarded_session, request
from tests.services.conftest import drip, huge, json_reply, raw_reply, redirect

BOUNDS = {"connect_timeout": 1.0, "total_timeout": 1.0, "max_bytes": 1000}
LOOPBACK = Allowlist.parse(["127.0.0.1:*"])


def test_a_2xx_answer_comes_back_with_status_headers_and_content(stub_server):
    server = stub_server({"/hook": json_reply(202, {"ok": True}, headers={"X-Echo": "yes"})})

    result = request(
        "post",
        server.url("/hook"),
        headers={"Content-Type": "application/json", "X-Sig": "abc"},
        body=b'{"a":1}',
        allowlist=LOOPBACK,
        **BOUNDS,
    )

    assert result.ok and result.status == 202 and result.error_kind is None
    assert result.content == b'{"ok": true}'
    assert result.headers["x-echo"] == "yes"
    assert result.latency_ms >= 0
    sent = server.requests[0]
    assert (sent.method, sent.body, sent.headers["X-Sig"]) == ("POST", b'{"a":1}', "abc")


def test_an_error_status_is_an_http_outcome_not_an_exception(stub_server):
    server = stub_server({"/hook": json_reply(503, {"error": "busy"})})
    result = request("POST", server.url("/hook"), allowlist=LOOPBACK, **BOUNDS)
    assert (result.ok, result.status, result.error_kind) == (False, 503, "http")
    assert "503" in result.error
    assert result.content == b'{"error": "busy"}'


def test_a_redirect_is_reported_and_never_followed(stub_server):
    elsewhere = stub_server({"/": json_reply(200, {})})
    server = stub_server({"/hook": redirect(elsewhere.url("/"), 307)})
    result = request("POST", server.url("/hook"), allowlist=LOOPBACK, **BOUNDS)
    assert (result.ok, result.status, result.error_kind) == (False, 307, "redirect")
    assert elsewhere.requests == []


@pytest.mark.parametrize("declare_length", [True, False])
def test_an_answer_over_the_cap_is_too_large(stub_server, declare_length):
    server = stub_server({"/hook": huge(50_000, declare_length=declare_length)})
    result = request("GET", server.url("/hook"), allowlist=LOOPBACK, **BOUNDS)
    assert (result.ok, result.error_kind) == (False, "too_large")
    assert "1000 bytes" in result.error
    assert len(result.content) <= BOUNDS["max_bytes"]


def test_a_dripping_server_is_cut_at_the_total_deadline(stub_server):
    server = stub_server({"/hook": drip(0.2)})
    result = request(
        "GET",
        server.url("/hook"),
        allowlist=LOOPBACK,
        connect_timeout=1.0,
        total_timeout=0.5,
        max_bytes=10_000,
    )
    assert (result.ok, result.error_kind) == (False, "timeout")
    assert "within 0.5 s" in result.error
    assert result.latency_ms < 2000


def test_a_private_address_is_blocked_before_any_connect(stub_server, no_allowlist):
    server = stub_server({"/hook": json_reply(200, {})})
    result = request("POST", server.url("/hook"), **BOUNDS)  # the settings' (empty) allowlist
    assert (result.ok, result.status, result.error_kind) == (False, None, "blocked")
    assert result.error.startswith("Refused to call 127.0.0.1")
    assert server.requests == []


def test_the_given_allowlist_is_used_at_connect_time_too(stub_server, no_allowlist, fake_dns):
    # A name that resolves to loopback: only the connect-time check sees the address.
    server = stub_server({"/hook": json_reply(200, {})})
    fake_dns({"hooks.test": [["127.0.0.1"]]})
    url = f"http://hooks.test:{server.port}/hook"

    refused = request("GET", url, **BOUNDS)
    allowed = request("GET", url, allowlist=Allowlist.parse([f"127.0.0.1:{server.port}"]), **BOUNDS)

    assert refused.error_kind == "blocked", refused
    assert allowed.ok, allowed


def test_not_http_and_garbage_urls_are_blocked_without_raising():
    for url in ("file:///etc/passwd", "ftp://example.com/", "http://[::1", "no url"):
        result = request("GET", url, **BOUNDS)
        assert (result.ok, result.error_kind) == (False, "blocked"), url


def test_a_closed_port_is_a_connection_outcome():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = request("GET", f"http://127.0.0.1:{port}/", allowlist=LOOPBACK, **BOUNDS)
    assert (result.ok, result.error_kind) == (False, "connection")
    assert "127.0.0.1" in result.error


def test_no_cookie_travels_to_the_next_call_on_a_shared_session(stub_server):
    server = stub_server(
        {"/hook": raw_reply(200, b"{}", headers={"Set-Cookie": "sid=secret; Path=/"})}
    )
    session = guarded_session()
    try:
        for _ in range(2):
            assert request(
                "GET", server.url("/hook"), allowlist=LOOPBACK, session=session, **BOUNDS
            ).ok
    finally:
        session.close()
    assert all("Cookie" not in sent.headers for sent in server.requests)
    assert len(server.requests) == 2
