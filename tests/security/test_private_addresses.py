"""Promise 4: no market request reaches a private address, in any spelling, at any entry point.

The table of disguised URLs (``tests/services/test_guard.py::DISGUISED_URLS``) is the one the
guard's own tests use. Here it is run through the entry points those tests leave out: a new
manifest *version* (registration is ``tests/services/test_registration.py``), the monthly
usage collection, and the conformance transport the market hands the kit. The lifecycle client
and the health probes meet the same table in ``tests/services/test_guard_connections.py`` and
``tests/services/test_probe.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from market.lib.outbound.guard import Allowlist, check_url, split_url
from monitoring import usage
from monitoring.models import UsageReport
from services.services import RegistrationError, manifest_update
from services.vendor_client.client import VendorClient, VendorTarget
from services.vendor_client.kit_transport import GuardedTransport
from tests.factories import ManifestFactory, ServiceFactory, TenantFactory
from tests.services.conftest import json_reply
from tests.services.test_guard import DISGUISED_URLS
from tests.support.vendors import manifest_text
from vendorkit.conformance import TransportError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_allowlist")]

HTTPS_DISGUISED = [u.replace("http://", "https://", 1) for u in DISGUISED_URLS]


def _base(url: str) -> str:
    """``scheme://host[:port]`` of a table URL (its path and the trailing slash dropped)."""
    return "/".join(url.split("/", 3)[:3])


def test_the_table_has_at_least_17_disguises_of_distinct_spellings():
    assert len(DISGUISED_URLS) >= 17
    assert len(set(DISGUISED_URLS)) == len(DISGUISED_URLS)
    hosts = [split_url(url)[1] for url in DISGUISED_URLS]
    spellings = {
        "decimal IPv4": "2130706433",
        "octal IPv4": "0177.0.0.1",
        "hex IPv4": "0x7f000001",
        "short IPv4": "127.1",
        "IPv6 loopback": "::1",
        "IPv4-mapped IPv6": "::ffff:127.0.0.1",
        "NAT64": "64:ff9b::a00:1",
        "6to4": "2002:7f00:1::",
        "metadata": "169.254.169.254",
        "carrier-grade NAT": "100.64.0.1",
        "multicast": "224.0.0.1",
        "localhost name": "localhost",
    }
    missing = {name for name, host in spellings.items() if host not in hosts}
    assert not missing, f"the table lost these spellings: {missing}"


# --- at manifest submission: a new version of a registered service --------------------------


@pytest.fixture
def registered_service():
    service = ServiceFactory(service_id="reference_tutor", base_url="https://vendor.example")
    service.current_manifest = ManifestFactory(service=service)
    service.save(update_fields=["current_manifest"])
    return service


@pytest.mark.parametrize("url", HTTPS_DISGUISED)
def test_a_new_manifest_version_with_a_disguised_private_base_url_is_refused(
    url, registered_service, sockets
):
    valid = registered_service.manifests.filter(is_valid=True)
    before = (registered_service.current_manifest_id, valid.count())

    with pytest.raises(RegistrationError) as refused:
        manifest_update(
            service=registered_service,
            raw_text=manifest_text(base_url=url.rstrip("/"), service_id="reference_tutor"),
        )

    reason = refused.value.message + " ".join(e.message for e in refused.value.errors)
    assert "Refused to call" in reason or "user info" in reason, reason
    registered_service.refresh_from_db()
    assert registered_service.base_url == "https://vendor.example"
    # Nothing is applied; a version refused by the validator is kept, marked, in the history.
    assert (registered_service.current_manifest_id, valid.count()) == before
    assert sockets == []


def test_an_oauth2_token_url_on_a_private_address_is_refused_at_submission(stub_server, settings):
    """The market POSTs its client secret to ``auth.token_url``; it is a vendor URL like the rest."""
    vendor = stub_server({"/mt/health": _healthy()})
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{vendor.port}"]
    settings.VENDOR_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    service = ServiceFactory(service_id="reference_tutor", base_url=vendor.url())
    service.current_manifest = ManifestFactory(service=service)
    service.save(update_fields=["current_manifest"])
    auth = {"type": "oauth2", "token_url": "https://169.254.169.254/latest/api/token"}

    with pytest.raises(RegistrationError) as refused:
        manifest_update(
            service=service,
            raw_text=manifest_text(base_url=vendor.url(), service_id="reference_tutor", auth=auth),
        )

    assert "169.254.169.254" in refused.value.message


def test_an_oauth2_token_url_on_a_private_address_is_refused_at_call_time(sockets):
    target = VendorTarget(
        service_id="s",
        base_url="https://vendor.example",
        endpoints={"tenant_status": "/mt/tenant/{tenant_id}/status"},
        auth_type="oauth2",
        token_url="https://169.254.169.254/latest/api/token",
        oauth_client_id="s",
        oauth_client_secret="client-secret",
    )

    with VendorClient(target) as client:
        result = client.status("t1", request_id="r")

    assert result.error_kind == "blocked", result.error
    assert "169.254.169.254" in result.error
    assert sockets == []


def _healthy():
    return json_reply(
        200, {"status": "healthy", "version": "1.0.0", "timestamp": "2026-01-03T12:00:00Z"}
    )


# --- at call time: the callers the guard's own tests do not drive -----------------------------


def test_usage_collection_refuses_every_disguised_address_without_connecting(sockets):
    tenants = {}
    for index, url in enumerate(DISGUISED_URLS):
        service = ServiceFactory(base_url=_base(url))
        service.current_manifest = ManifestFactory(service=service)
        service.save(update_fields=["current_manifest"])
        tenant = TenantFactory(service=service, created_at=datetime(2026, 1, 5, tzinfo=UTC))
        tenants[url] = tenant
        assert index == len(tenants) - 1

    ids = usage.usage_reports_prepare(month=date(2026, 2, 1))
    usage.usage_reports_collect(report_ids=ids)

    for url, tenant in tenants.items():
        report = UsageReport.objects.get(tenant=tenant)
        assert report.state == UsageReport.State.FAILED, (url, report.state, report.error)
        assert report.error.startswith("Refused to call"), (url, report.error)
    assert sockets == []


@pytest.mark.parametrize("url", DISGUISED_URLS)
def test_the_conformance_transport_refuses_every_disguised_address_without_connecting(url, sockets):
    transport = GuardedTransport()
    try:
        with pytest.raises(TransportError) as refused:
            transport("GET", url, headers={}, body=b"", timeout=1.0)
    finally:
        transport.close()

    assert str(refused.value).startswith("Refused to call"), str(refused.value)
    assert sockets == []


def test_the_conformance_transport_connects_to_the_address_it_checked(
    stub_server, settings, fake_dns, sockets
):
    # DNS rebinding: the first answer is the allowlisted stub, every later one the private net.
    server = stub_server({"/mt/health": _healthy()})
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [f"127.0.0.1:{server.port}"]
    lookups = fake_dns({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    url = f"http://rebind.test:{server.port}/mt/health"

    transport = GuardedTransport()
    try:
        first = transport("GET", url, headers={}, body=b"", timeout=1.0)
        transport.session.close()  # a new connection, so a new look-up
        with pytest.raises(TransportError) as refused:
            transport("GET", url, headers={}, body=b"", timeout=1.0)
    finally:
        transport.close()

    assert first.status == 200
    assert "10.0.0.1" in str(refused.value)
    assert lookups.count("rebind.test") == 2
    assert [(s.host, s.port) for s in sockets] == [("127.0.0.1", server.port)]


# --- the allowlist: explicit host and port only ------------------------------------------------


def test_an_allowlisted_host_and_port_opens_nothing_else(settings, sockets):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:8000"]
    allowlist = Allowlist.from_settings()

    assert allowlist.allows("127.0.0.1", 8000)
    for host, port in [
        ("127.0.0.1", 8001),
        ("127.0.0.2", 8000),
        ("10.0.0.1", 8000),
        ("169.254.169.254", 8000),
        ("::1", 8000),
    ]:
        assert not allowlist.allows(host, port), (host, port)
    check_url("http://127.0.0.1:8000/")  # allowed: no exception
    for url in ("http://127.0.0.1:8001/", "http://10.0.0.1:8000/", "http://[::1]:8000/"):
        with pytest.raises(ValueError, match="Refused to call"):
            check_url(url)
    assert sockets == []


@pytest.mark.parametrize("entry", ["127.0.0.1", "10.0.0.0/8", "localhost", "*"])
def test_an_allowlist_entry_without_a_port_is_rejected(entry):
    with pytest.raises(ValueError, match="host:port"):
        Allowlist.parse([entry])
