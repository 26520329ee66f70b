"""VendorClient against real stub servers on 127.0.0.1: hostile and broken vendors."""

import json
import socket

import pytest

from services.vendor_client.client import VendorClient, VendorTarget
from tests.services.conftest import (
    drip,
    endless_chunked,
    hang,
    huge,
    json_reply,
    raw_reply,
    redirect,
    reset_connection,
    sequence,
)

STATUS_PATH = "/mt/tenant/t1/status"
ACTIVATE_PATH = "/mt/tenant/t1/activate"
STATUS_BODY = {"tenant_id": "t1", "status": "active", "plan": "basic"}
ENDPOINTS = {
    "health": "/mt/health",
    "tenant_activate": "/mt/tenant/{tenant_id}/activate",
    "tenant_deactivate": "/mt/tenant/{tenant_id}/deactivate",
    "tenant_status": "/mt/tenant/{tenant_id}/status",
}


@pytest.fixture(autouse=True)
def _vendor_settings(allow_loopback, connection_log):
    allow_loopback.VENDOR_CONNECT_TIMEOUT = 2.0
    allow_loopback.VENDOR_TOTAL_TIMEOUT = 5.0
    allow_loopback.VENDOR_MAX_RESPONSE_BYTES = 256 * 1024
    return allow_loopback


def client_for(server) -> VendorClient:
    return VendorClient(
        VendorTarget(
            service_id="stub",
            base_url=server.url(),
            endpoints=ENDPOINTS,
            api_key="k",
            signing_secrets=["s"],
        )
    )


def test_a_well_behaved_vendor_answers_ok(stub_server):
    server = stub_server({STATUS_PATH: json_reply(200, STATUS_BODY)})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r1")

    assert result.ok, result.error
    assert result.body == STATUS_BODY
    assert server.requests[0].headers["X-Market-Request-Id"] == "r1"
    assert server.requests[0].headers["Host"] == f"127.0.0.1:{server.port}"


def test_kept_alive_connection_serves_several_calls(stub_server, connection_log):
    server = stub_server({STATUS_PATH: json_reply(200, STATUS_BODY)})

    with client_for(server) as vendor:
        results = [vendor.status("t1", request_id=f"r{i}") for i in range(3)]

    assert all(r.ok for r in results)
    assert len(server.requests) == 3
    assert connection_log == [("127.0.0.1", server.port)]


def test_a_server_that_never_answers_times_out(stub_server, settings):
    settings.VENDOR_TOTAL_TIMEOUT = 0.5
    server = stub_server({STATUS_PATH: hang()})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "timeout"
    assert result.retryable
    assert "0.5 s" in result.error


def test_a_server_dripping_bytes_is_cut_off_at_the_total_deadline(stub_server, settings):
    # Each byte arrives well within any per-read timeout; only the total deadline stops it.
    settings.VENDOR_TOTAL_TIMEOUT = 1.5
    server = stub_server({STATUS_PATH: drip(interval=0.4)})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "timeout"
    assert result.retryable


def test_the_client_works_again_after_a_deadline_cut_a_call(stub_server, settings):
    settings.VENDOR_TOTAL_TIMEOUT = 1.0
    server = stub_server({STATUS_PATH: sequence(drip(interval=0.3), json_reply(200, STATUS_BODY))})

    with client_for(server) as vendor:
        first = vendor.status("t1", request_id="r")
        second = vendor.status("t1", request_id="r")

    assert first.error_kind == "timeout"
    assert second.ok, second.error


def test_a_declared_10_mib_body_is_refused_without_reading_it(stub_server):
    server = stub_server({STATUS_PATH: huge(10 * 1024 * 1024)})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "too_large"
    assert result.retryable
    assert "262144 bytes" in result.error


def test_an_undeclared_10_mib_body_is_cut_at_the_cap(stub_server):
    server = stub_server({STATUS_PATH: huge(10 * 1024 * 1024, declare_length=False)})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "too_large"


def test_an_endless_chunked_body_is_cut_at_the_cap(stub_server):
    server = stub_server({STATUS_PATH: endless_chunked()})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "too_large"
    assert result.retryable


def test_redirect_to_the_metadata_address_is_not_followed(stub_server, connection_log):
    server = stub_server({STATUS_PATH: redirect("http://169.254.169.254/latest/meta-data/")})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "redirect"
    assert not result.retryable
    assert "169.254.169.254" in result.error
    assert connection_log == [("127.0.0.1", server.port)]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_local_server_is_not_followed(stub_server, status):
    target = stub_server({STATUS_PATH: json_reply(200, STATUS_BODY)})
    server = stub_server({STATUS_PATH: redirect(target.url(STATUS_PATH), status=status)})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "redirect"
    assert result.status_code == status
    assert len(server.requests) == 1
    assert target.requests == []


def test_a_reset_connection_is_a_retryable_connection_error(stub_server):
    server = stub_server({STATUS_PATH: reset_connection()})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "connection"
    assert result.retryable
    assert result.status_code is None


def test_a_closed_port_is_a_retryable_connection_error(stub_server, settings):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    target = VendorTarget(service_id="s", base_url=f"http://127.0.0.1:{port}", endpoints=ENDPOINTS)

    with VendorClient(target) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "connection"
    assert result.retryable
    assert "refused" in result.error.lower()


def test_malformed_json_is_an_invalid_body(stub_server):
    server = stub_server({STATUS_PATH: raw_reply(200, b'{"tenant_id": "t1", "status": ')})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "invalid_body"
    assert result.retryable
    assert result.body_excerpt == '{"tenant_id": "t1", "status": '


def test_an_empty_body_is_an_invalid_body(stub_server):
    server = stub_server({STATUS_PATH: raw_reply(200, b"")})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "invalid_body"
    assert "empty" in result.error


def test_the_raw_body_the_vendor_receives_is_the_one_signed(stub_server):
    from vendorkit.signing import verify

    activated = {"status": "activated", "tenant_id": "t1", "access_url": "https://t1.example"}
    server = stub_server({ACTIVATE_PATH: json_reply(200, activated)})

    with client_for(server) as vendor:
        result = vendor.activate("t1", {"tenant_id": "t1", "tenant_name": "한림"}, request_id="r")

    assert result.ok, result.error
    received = server.requests[0]
    assert json.loads(received.body) == {
        "tenant_id": "t1",
        "tenant_name": "한림",
        "reactivation": False,
    }
    verify(
        secrets=["s"],
        request_id="r",
        timestamp_header=received.headers["X-Market-Timestamp"],
        signature_header=received.headers["X-Market-Signature"],
        body=received.body,
    )


def test_without_the_allowlist_a_local_stub_is_never_contacted(
    stub_server, settings, connection_log
):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    server = stub_server({STATUS_PATH: json_reply(200, STATUS_BODY)})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "blocked"
    assert server.requests == []
    assert connection_log == []


def test_a_test_clock_that_travels_does_not_bend_deadlines_or_latency(stub_server, time_machine):
    # Other apps' tests freeze or move time, and time-machine moves time.monotonic too.
    time_machine.move_to("2031-01-01T00:00:00Z", tick=False)
    answer = json_reply(200, STATUS_BODY)

    def travel_back_then_answer(handler, stop):
        time_machine.move_to("1999-01-01T00:00:00Z", tick=False)
        answer(handler, stop)

    server = stub_server({STATUS_PATH: travel_back_then_answer})

    with client_for(server) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.ok, result.error
    assert result.latency_ms >= 0
