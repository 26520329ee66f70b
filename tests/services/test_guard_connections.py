"""The guard where sockets are opened: disguised URLs, DNS rebinding and TLS host checks."""

import socket

import pytest

from market.lib.outbound import transport
from services.vendor_client.client import VendorClient, VendorTarget
from tests.services.conftest import STATUS_BODY, json_reply
from tests.services.test_guard import DISGUISED_URLS

ENDPOINTS = {"health": "/mt/health", "tenant_status": "/mt/tenant/{tenant_id}/status"}


def client_for(base_url: str) -> VendorClient:
    return VendorClient(
        VendorTarget(service_id="s", base_url=base_url, endpoints=ENDPOINTS, api_key="k")
    )


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize("url", DISGUISED_URLS)
def test_vendor_client_refuses_disguised_private_addresses_without_connecting(url, connection_log):
    base_url = url.split("/", 3)
    with client_for("/".join(base_url[:3])) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "blocked", result.error
    assert not result.retryable
    assert connection_log == []


@pytest.mark.usefixtures("no_allowlist")
@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "::1", "fd00::1"])
def test_a_name_resolving_to_a_private_address_is_refused_at_connect(
    address, fake_dns, connection_log
):
    fake_dns({"vendor.test": [[address]]})

    with client_for("https://vendor.test") as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "blocked"
    assert f"vendor.test ({address if ':' not in address else f'[{address}]'})" in result.error
    assert connection_log == []


def test_dns_rebinding_cannot_move_a_checked_connection(
    stub_server, settings, fake_dns, connection_log
):
    server = stub_server({"/mt/tenant/t1/status": json_reply(200, STATUS_BODY)})
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{server.port}"]
    # First answer passes the check; every later answer points into the private network.
    lookups = fake_dns({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})

    with client_for(f"http://rebind.test:{server.port}") as vendor:
        first = vendor.status("t1", request_id="r1")
    with client_for(f"http://rebind.test:{server.port}") as vendor:
        second = vendor.status("t1", request_id="r2")

    assert first.ok, first.error
    assert len(server.requests) == 1
    assert server.requests[0].headers["Host"] == f"rebind.test:{server.port}"
    assert second.error_kind == "blocked"
    assert "10.0.0.1" in second.error
    # One look-up per connection: the address checked is the address connected to.
    assert lookups.count("rebind.test") == 2
    assert connection_log == [("127.0.0.1", server.port)]


@pytest.mark.usefixtures("no_allowlist")
def test_connection_goes_to_the_public_address_that_was_checked(fake_dns, connection_log):
    # A guard that checked one answer and let the socket resolve again would land on loopback.
    lookups = fake_dns({"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})

    with client_for("http://rebind.test") as vendor:
        result = vendor.status("t1", request_id="r")

    # The tripwire refuses the public address before any packet; the attempt is what counts.
    assert result.error_kind == "connection"
    assert connection_log == [("93.184.216.34", 80)]
    assert lookups.count("rebind.test") == 1


# --- TLS keeps checking the host name while connecting to the checked address ---------------


def test_tls_uses_the_host_name_for_sni_and_certificate_check(tls_server, connection_log):
    server, ca_file, seen_sni = tls_server("vendor.test")

    with client_for(f"https://vendor.test:{server.port}") as vendor:
        vendor._session.verify = ca_file  # trust the test CA; nothing else changes
        result = vendor.status("t1", request_id="r")

    assert result.ok, result.error
    assert seen_sni == ["vendor.test"]
    assert server.requests[0].headers["Host"] == f"vendor.test:{server.port}"
    assert connection_log == [("127.0.0.1", server.port)]


def test_tls_certificate_for_another_name_is_refused(tls_server):
    server, ca_file, _seen = tls_server("other.test")

    with client_for(f"https://vendor.test:{server.port}") as vendor:
        vendor._session.verify = ca_file
        result = vendor.status("t1", request_id="r")

    assert result.error_kind == "connection"
    assert server.requests == []


def test_guarded_sockets_keep_urllib3_socket_options(stub_server, allow_loopback, monkeypatch):
    # TCP_NODELAY and friends still apply although the connect is our own.
    server = stub_server({"/mt/tenant/t1/status": json_reply(200, STATUS_BODY)})
    nodelay = []
    real = transport.connect_checked

    def spy(*args, **kwargs):
        sock = real(*args, **kwargs)
        nodelay.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        return sock

    monkeypatch.setattr(transport, "connect_checked", spy)
    with client_for(server.url()) as vendor:
        assert vendor.status("t1", request_id="r").ok

    assert len(nodelay) == 1
    assert nodelay[0] != 0
