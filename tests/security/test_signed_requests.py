"""Off-the-shelf libraries verify the market's live requests, and no signature works elsewhere.

Real HTTP: the market's ``VendorClient`` calls a stub on 127.0.0.1 that verifies every request
it receives with libraries we did not write: PyPI ``http-message-signatures`` for the RFC 9421
signature and its Content-Digest, PyPI ``standardwebhooks`` for the deprecated
``X-Market-Signature`` (its three headers mapped to webhook-id/-timestamp/-signature, the secret
passed as its UTF-8 bytes). Then captured market requests are replayed to the reference vendor
on another path, tenant, query or method, and refused.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import json
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import requests
from http_message_signatures import (
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)
from requests.structures import CaseInsensitiveDict
from standardwebhooks import Webhook

from services.vendor_client.client import VendorClient, VendorTarget
from vendorkit.reference_vendor import serve_in_thread
from vendorkit.signing import (
    COVERED_COMPONENTS,
    SignatureError,
    hmac_key,
    key_id,
    request_signature_headers,
    verify_request,
)

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()
API_KEY = "signed-requests-api-key"
TENANT, OTHER_TENANT = "hallym_univ", "snu"
ENDPOINTS = {
    "health": "/mt/health",
    "tenant_activate": "/mt/tenant/{tenant_id}/activate",
    "tenant_deactivate": "/mt/tenant/{tenant_id}/deactivate",
    "tenant_status": "/mt/tenant/{tenant_id}/status",
    "usage_report": "/mt/tenant/{tenant_id}/usage",
    "tenant_update": "/mt/tenant/{tenant_id}/update",
    "tenant_delete": "/mt/tenant/{tenant_id}/delete",
}
SIGNATURE_INPUT = (
    'market=("@method" "@path" "@query" "content-digest" "x-market-request-id")'
    ';created={created};keyid="{keyid}";alg="hmac-sha256"'
)
DEACTIVATE = {
    "reason": "admin_request",
    "preserve_data": True,
    "deactivate_at": "2026-01-03T12:00:00.654321Z",
}
UPDATE = {"plan": "basic", "features": [], "config": {"max_users": 10, "storage_limit_gb": 1}}
ACTIVATE = {
    "tenant_id": TENANT,
    "tenant_name": "한림대학교",
    "plan": "premium",
    "features": ["ai_chat"],
    "config": {"max_users": 500, "storage_limit_gb": 100},
    "admin": {"email": "admin@hallym.ac.kr", "name": "홍길동"},
}
CALLS = {
    "health": lambda c: c.health(request_id="rid-health"),
    "activate": lambda c: c.activate(TENANT, ACTIVATE, request_id="rid-activate"),
    "deactivate": lambda c: c.deactivate(TENANT, DEACTIVATE, request_id="rid-deactivate"),
    "status": lambda c: c.status(TENANT, request_id="rid-status"),
    "usage": lambda c: c.usage(TENANT, month="2026-01", request_id="rid-usage"),
    "update": lambda c: c.update(TENANT, UPDATE, request_id="rid-update"),
    "delete": lambda c: c.delete(TENANT, request_id="rid-delete"),
}


class _LabelVerifier(HTTPMessageVerifier):
    # Two signatures travel during a rotation: each receiver picks the one made with its key.
    allow_label_only_selection = True


def verify_rfc9421(message, body: bytes, *, secret: str, label: str) -> dict:
    """The library's verdict on one signature: its parameters, or InvalidSignature."""
    keys = {key_id(secret): hmac_key(secret)}
    verifier = _LabelVerifier(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys=keys, private_keys=keys),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library warns that labels are not signed
        (result,) = verifier.verify(
            message,
            expect_label=label,
            body=body,
            require_components=COVERED_COMPONENTS,
            max_age=datetime.timedelta(seconds=300),
        )
    return result.parameters


def verify_legacy(headers, body: bytes, *, secret: str) -> None:
    """standardwebhooks, with the market's three headers under its names (signing.md)."""
    Webhook(secret.encode()).verify(
        body,
        {
            "webhook-id": headers["X-Market-Request-Id"],
            "webhook-timestamp": headers["X-Market-Timestamp"],
            "webhook-signature": headers["X-Market-Signature"],
        },
        json_parse=False,
    )


@dataclass
class Received:
    method: str
    target: str
    headers: CaseInsensitiveDict
    body: bytes
    message: SimpleNamespace  # what the libraries read: method, url, headers


class VerifyingStub:
    """A vendor stub that records each request as the libraries read it, and answers ``{}``."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets
        self.received: list[Received] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = CaseInsensitiveDict(self.headers.items())
                url = f"http://127.0.0.1:{stub.port}{self.path}"
                message = SimpleNamespace(method=self.command, url=url, headers=headers)
                stub.received.append(Received(self.command, self.path, headers, body, message))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stub(settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]
    servers: list[VerifyingStub] = []

    def start(secrets: list[str]) -> VerifyingStub:
        server = VerifyingStub(secrets)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def client_for(port: int, secrets: list[str]) -> VendorClient:
    return VendorClient(
        VendorTarget(
            service_id="signed_service",
            base_url=f"http://127.0.0.1:{port}",
            endpoints=ENDPOINTS,
            api_key=API_KEY,
            signing_secrets=secrets,
        )
    )


def _one_call(stub, name: str, secrets: list[str]) -> Received:
    server = stub(secrets)
    with client_for(server.port, secrets) as vendor:
        CALLS[name](vendor)
    (received,) = server.received
    return received


@pytest.mark.parametrize("name", list(CALLS))
def test_every_market_request_verifies_with_off_the_shelf_libraries(stub, name):
    received = _one_call(stub, name, [SECRET])

    params = verify_rfc9421(received.message, received.body, secret=SECRET, label="market")
    verify_legacy(received.headers, received.body, secret=SECRET)

    created = int(received.headers["X-Market-Timestamp"])
    assert params == {"created": created, "keyid": key_id(SECRET), "alg": "hmac-sha256"}
    assert abs(created - time.time()) < 60
    assert received.headers["Signature-Input"] == SIGNATURE_INPUT.format(
        created=created, keyid=key_id(SECRET)
    )
    digest = base64.b64encode(hashlib.sha256(received.body).digest()).decode()
    assert received.headers["Content-Digest"] == f"sha-256=:{digest}:"
    # The kit's stdlib verifier (what the reference vendor runs) agrees with the library.
    verify_request(
        secrets=[SECRET],
        method=received.method,
        target=received.target,
        headers=received.headers,
        body=received.body,
    )


@pytest.mark.parametrize("name", ["activate", "deactivate", "update", "delete"])
def test_every_lifecycle_body_names_its_tenant(stub, name):
    received = _one_call(stub, name, [SECRET])
    body = json.loads(received.body)
    assert body["tenant_id"] == TENANT
    if name == "activate":
        assert body["reactivation"] is False
    if name == "deactivate":
        assert body["deactivate_at"] == "2026-01-03T12:00:00Z"  # whole seconds


def test_during_a_rotation_each_secret_verifies_its_own_signature(stub):
    received = _one_call(stub, "deactivate", [SECRET, OLD_SECRET])

    current = verify_rfc9421(received.message, received.body, secret=SECRET, label="market")
    previous = verify_rfc9421(
        received.message, received.body, secret=OLD_SECRET, label="market-previous"
    )
    assert (current["keyid"], previous["keyid"]) == (key_id(SECRET), key_id(OLD_SECRET))
    with pytest.raises(InvalidSignature):
        verify_rfc9421(received.message, received.body, secret=OLD_SECRET, label="market")
    for secret in (SECRET, OLD_SECRET):
        verify_legacy(received.headers, received.body, secret=secret)


@pytest.mark.parametrize(
    "change",
    [
        {"url": "/mt/tenant/snu/status"},
        {"url": "/mt/tenant/hallym_univ/usage?period=monthly&month=2026-02"},
        {"method": "POST"},
        {"body": b'{"x":1}'},
    ],
    ids=["another tenant", "another query", "another method", "another body"],
)
def test_the_library_refuses_the_same_signature_on_another_request(stub, change):
    received = _one_call(stub, "usage", [SECRET])
    message = received.message
    moved = SimpleNamespace(
        method=change.get("method", message.method),
        url=message.url.split("/mt/", 1)[0] + change["url"] if "url" in change else message.url,
        headers=message.headers,
    )
    with pytest.raises(InvalidSignature):
        verify_rfc9421(moved, change.get("body", received.body), secret=SECRET, label="market")


# --- replays to the reference vendor ---------------------------------------------------------


@pytest.fixture
def reference(tmp_path):
    server, base_url = serve_in_thread(
        api_keys=[API_KEY], signing_secrets=[SECRET], db_path=str(tmp_path / "vendor.sqlite3")
    )
    yield base_url
    server.stop()


def _signed(base_url: str, method: str, path: str, body: bytes = b"") -> requests.Response:
    headers = {
        "X-Market-API-Key": API_KEY,
        "Content-Type": "application/json",
        **request_signature_headers(
            secrets=[SECRET],
            method=method,
            url=base_url + path,
            request_id=str(uuid.uuid4()),
            timestamp=int(time.time()),
            body=body,
        ),
    }
    return requests.request(method, base_url + path, data=body or None, headers=headers, timeout=5)


def _replay(base_url: str, received: Received, *, method: str, target: str) -> tuple[int, dict]:
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        headers = {k: v for k, v in received.headers.items() if k.lower() != "host"}
        connection.request(method, target, body=received.body or None, headers=headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        connection.close()


def _activate_both(base_url: str) -> None:
    for tenant in (TENANT, OTHER_TENANT):
        body = json.dumps({**ACTIVATE, "tenant_id": tenant}).encode()
        answer = _signed(base_url, "POST", f"/mt/tenant/{tenant}/activate", body)
        assert answer.status_code == 200, answer.text


def _status_of(base_url: str, tenant: str) -> str:
    return _signed(base_url, "GET", f"/mt/tenant/{tenant}/status").json()["status"]


def test_a_captured_deactivate_is_refused_on_another_tenant_or_operation(stub, reference):
    _activate_both(reference)
    captured = _one_call(stub, "deactivate", [SECRET])  # what an eavesdropper saw

    for target in (f"/mt/tenant/{OTHER_TENANT}/deactivate", f"/mt/tenant/{TENANT}/delete"):
        status, body = _replay(reference, captured, method="POST", target=target)
        assert (status, body.get("error")) == (401, "invalid_signature"), (target, body)
    assert _status_of(reference, OTHER_TENANT) == "active"

    # The capture itself is authentic: on its own path it is accepted (and applied once).
    status, body = _replay(
        reference, captured, method="POST", target=f"/mt/tenant/{TENANT}/deactivate"
    )
    assert status == 200, body
    assert _status_of(reference, TENANT) == "deactivated"


def test_a_captured_get_is_refused_on_another_path_query_or_method(stub, reference):
    _activate_both(reference)
    captured = _one_call(stub, "usage", [SECRET])
    accepted, _ = _replay(reference, captured, method="GET", target=captured.target)
    assert accepted == 200

    for target in (
        f"/mt/tenant/{OTHER_TENANT}/usage?period=monthly&month=2026-01",
        f"/mt/tenant/{TENANT}/usage?period=monthly&month=2025-12",
        f"/mt/tenant/{TENANT}/status",
    ):
        status, body = _replay(reference, captured, method="GET", target=target)
        assert (status, body.get("error")) == (401, "invalid_signature"), (target, body)

    # Another method: the route refuses it before anything else; the signature would too.
    status, _ = _replay(reference, captured, method="POST", target=captured.target)
    assert status == 405
    with pytest.raises(SignatureError) as refused:
        verify_request(
            secrets=[SECRET],
            method="POST",
            target=captured.target,
            headers=captured.headers,
            body=captured.body,
        )
    assert refused.value.code == "invalid_signature"


def test_a_signed_body_about_another_tenant_is_refused(reference):
    _activate_both(reference)
    body = json.dumps({**DEACTIVATE, "tenant_id": OTHER_TENANT}).encode()
    answer = _signed(reference, "POST", f"/mt/tenant/{TENANT}/deactivate", body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "tenant_id"
    assert _status_of(reference, TENANT) == _status_of(reference, OTHER_TENANT) == "active"


@pytest.mark.parametrize("name", ["deactivate", "usage"])
def test_npm_http_message_signatures_verifies_a_live_market_request(stub, name):
    from tests.vendorkit.test_signing_vectors import run_node_verifier

    received = _one_call(stub, name, [SECRET, OLD_SECRET])
    live = {
        "method": received.method,
        "url": received.message.url,
        "headers": dict(received.headers.items()),
        "body_base64": base64.b64encode(received.body).decode(),
    }
    for secret in (SECRET, OLD_SECRET):
        (result,) = run_node_verifier([live], secrets=[secret], now=None)
        assert result == {"ok": True, "keyid": key_id(secret)}, result
    moved = {**live, "url": live["url"].replace(TENANT, OTHER_TENANT)}
    (refused,) = run_node_verifier([moved], secrets=[SECRET], now=None)
    assert refused["ok"] is False
