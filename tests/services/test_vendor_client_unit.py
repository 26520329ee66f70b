"""VendorClient at the requests boundary (the `responses` library): headers, signing, mapping."""

import json
import logging
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from services.vendor_client import jwt_keys
from services.vendor_client.client import (
    UnknownEndpoint,
    VendorClient,
    VendorTarget,
    clear_oauth_token_cache,
    parse_retry_after,
)
from vendorkit.signing import SignatureError, verify

BASE = "https://vendor.example"
SEED_ENDPOINTS = {
    "base_url": BASE,
    "health": "/mt/health",
    "tenant_activate": "/mt/tenant/{tenant_id}/activate",
    "tenant_deactivate": "/mt/tenant/{tenant_id}/deactivate",
    "tenant_status": "/mt/tenant/{tenant_id}/status",
    "usage_report": "/mt/tenant/{tenant_id}/usage",
    "tenant_update": "/mt/tenant/{tenant_id}/update",
    "tenant_delete": "/mt/tenant/{tenant_id}/delete",
}
SECRETS = ["whsec-new-0123456789", "whsec-old-9876543210"]
ACTIVATE_PAYLOAD = {
    "tenant_id": "hallym_univ",
    "tenant_name": "한림대학교",
    "plan": "premium",
    "features": ["ai_chat", "rag", "quiz"],
    "config": {"max_users": 500, "storage_limit_gb": 100},
    "admin": {"email": "admin@hallym.ac.kr", "name": "홍길동"},
}
ACTIVATED = {
    "status": "activated",
    "tenant_id": "hallym_univ",
    "access_url": "https://hallym.keli.k-university.ai",
    "admin_credentials": {"temp_password": "x7-temp"},
}
STATUS_BODY = {
    "tenant_id": "hallym_univ",
    "status": "active",
    "plan": "premium",
    "created_at": "2026-01-01T00:00:00Z",
    "users": {"total": 150, "active_today": 45},
    "storage": {"used_gb": 25.5, "limit_gb": 100},
}
ACTIVATE_URL = f"{BASE}/mt/tenant/hallym_univ/activate"
STATUS_URL = f"{BASE}/mt/tenant/hallym_univ/status"


def make_target(**overrides) -> VendorTarget:
    fields = {
        "service_id": "keli_tutor",
        "base_url": BASE,
        "endpoints": SEED_ENDPOINTS,
        "auth_type": "api_key",
        "auth_header": "X-Market-API-Key",
        "api_key": "key-123",
        "signing_secrets": SECRETS,
    }
    fields.update(overrides)
    return VendorTarget(**fields)


@pytest.fixture(autouse=True)
def _isolated(settings, connection_log):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    settings.VENDOR_TOTAL_TIMEOUT = 5.0
    settings.VENDOR_CONNECT_TIMEOUT = 2.0
    settings.VENDOR_MAX_RESPONSE_BYTES = 256 * 1024
    settings.MARKET_BASE_URL = "https://market.example"
    clear_oauth_token_cache()
    yield
    clear_oauth_token_cache()


@pytest.fixture
def client():
    with VendorClient(make_target()) as vendor_client:
        yield vendor_client


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def market_key(monkeypatch, rsa_pem):
    monkeypatch.setenv(jwt_keys.ENV_VAR, rsa_pem)
    jwt_keys.market_private_key.cache_clear()
    yield
    jwt_keys.market_private_key.cache_clear()


# --- what is sent -------------------------------------------------------------------------


def test_activate_sends_signed_authenticated_json(client, mocked):
    mocked.post(ACTIVATE_URL, json=ACTIVATED)

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="req-1")

    assert result.ok, result.error
    sent = mocked.calls[0].request
    assert sent.headers["X-Market-Request-Id"] == "req-1"
    assert sent.headers["X-Market-API-Key"] == "key-123"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["User-Agent"] == "ServiceMarket/1.0"
    assert json.loads(sent.body) == {**ACTIVATE_PAYLOAD, "reactivation": False}
    for secret in SECRETS:  # either secret alone verifies (rotation)
        verify(
            secrets=[secret],
            request_id="req-1",
            timestamp_header=sent.headers["X-Market-Timestamp"],
            signature_header=sent.headers["X-Market-Signature"],
            body=sent.body,
        )


def test_signature_does_not_verify_with_another_secret_or_body(client, mocked):
    mocked.post(ACTIVATE_URL, json=ACTIVATED)
    client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="req-1")
    sent = mocked.calls[0].request

    with pytest.raises(SignatureError):
        verify(
            secrets=["not-the-secret"],
            request_id="req-1",
            timestamp_header=sent.headers["X-Market-Timestamp"],
            signature_header=sent.headers["X-Market-Signature"],
            body=sent.body,
        )
    with pytest.raises(SignatureError):
        verify(
            secrets=SECRETS,
            request_id="req-1",
            timestamp_header=sent.headers["X-Market-Timestamp"],
            signature_header=sent.headers["X-Market-Signature"],
            body=sent.body + b" ",
        )


def test_get_is_signed_over_an_empty_body_and_has_no_content_type(client, mocked):
    mocked.get(STATUS_URL, json=STATUS_BODY)

    result = client.status("hallym_univ", request_id="req-2")

    assert result.ok, result.error
    assert result.body == STATUS_BODY
    sent = mocked.calls[0].request
    assert not sent.body
    assert "Content-Type" not in sent.headers
    verify(
        secrets=SECRETS,
        request_id="req-2",
        timestamp_header=sent.headers["X-Market-Timestamp"],
        signature_header=sent.headers["X-Market-Signature"],
        body=b"",
    )


def test_request_id_is_the_same_on_every_retry_of_one_operation(client, mocked):
    mocked.post(ACTIVATE_URL, status=503, json={"error": "busy", "message": "later"})

    first = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="op-42")
    second = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="op-42")

    assert [call.request.headers["X-Market-Request-Id"] for call in mocked.calls] == [
        "op-42",
        "op-42",
    ]
    assert first.request_id == second.request_id == "op-42"


def test_health_is_signed_but_sends_no_credentials(client, mocked):
    mocked.get(
        f"{BASE}/mt/health",
        json={"status": "healthy", "version": "1.0.0", "timestamp": "2026-01-03T12:00:00Z"},
    )

    result = client.health()

    assert result.ok
    sent = mocked.calls[0].request
    assert "X-Market-API-Key" not in sent.headers
    assert "Authorization" not in sent.headers
    assert uuid.UUID(sent.headers["X-Market-Request-Id"]).version == 4
    assert sent.headers["X-Market-Signature"].startswith("v1,")


def test_no_signature_header_without_signing_secrets(mocked):
    mocked.get(STATUS_URL, json=STATUS_BODY)

    with VendorClient(make_target(signing_secrets=[])) as vendor:
        vendor.status("hallym_univ", request_id="r")

    assert "X-Market-Signature" not in mocked.calls[0].request.headers


def test_api_key_goes_in_the_header_the_manifest_names(mocked):
    mocked.get(STATUS_URL, json=STATUS_BODY)

    with VendorClient(make_target(auth_header="X-Keli-Key")) as vendor:
        vendor.status("hallym_univ", request_id="r")

    headers = mocked.calls[0].request.headers
    assert headers["X-Keli-Key"] == "key-123"
    assert "X-Market-API-Key" not in headers


def test_tenant_id_is_url_quoted_into_the_path(client, mocked):
    mocked.get(f"{BASE}/mt/tenant/a%20b%2Fc%3F/status", json={**STATUS_BODY, "tenant_id": "a b/c?"})

    result = client.status("a b/c?", request_id="r")

    assert result.ok, result.error
    assert mocked.calls[0].request.url == f"{BASE}/mt/tenant/a%20b%2Fc%3F/status"


def test_usage_asks_for_one_month(client, mocked):
    usage_url = f"{BASE}/mt/tenant/hallym_univ/usage"
    mocked.get(
        usage_url,
        json={
            "tenant_id": "hallym_univ",
            "period": "2026-01",
            "usage": {
                "api_calls": 15000,
                "ai_tokens": 500000,
                "storage_gb": 25.5,
                "active_users": 150,
            },
        },
    )

    result = client.usage("hallym_univ", month="2026-01", request_id="r")

    assert result.ok, result.error
    query = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert query == {"period": ["monthly"], "month": ["2026-01"]}


@pytest.mark.parametrize("month", ["2026-1", "2026-13", "26-01", "2026-01-01", ""])
def test_usage_refuses_a_malformed_month(client, month):
    with pytest.raises(ValueError):
        client.usage("hallym_univ", month=month, request_id="r")


def test_delete_sends_the_retention_reason_by_default(client, mocked):
    mocked.post(
        f"{BASE}/mt/tenant/hallym_univ/delete",
        json={"status": "deleted", "tenant_id": "hallym_univ"},
    )

    result = client.delete("hallym_univ", request_id="r")

    assert result.ok
    assert json.loads(mocked.calls[0].request.body) == {
        "tenant_id": "hallym_univ",
        "reason": "retention_expired",
    }


def test_an_endpoint_the_manifest_does_not_declare_is_a_caller_error():
    endpoints = {k: v for k, v in SEED_ENDPOINTS.items() if k != "usage_report"}
    with VendorClient(make_target(endpoints=endpoints)) as vendor, pytest.raises(UnknownEndpoint):
        vendor.usage("hallym_univ", month="2026-01", request_id="r")


def test_base_url_path_prefix_is_kept(mocked):
    mocked.get(
        "https://vendor.example/api/v1/mt/tenant/t1/status", json={**STATUS_BODY, "tenant_id": "t1"}
    )

    with VendorClient(make_target(base_url="https://vendor.example/api/v1/")) as vendor:
        result = vendor.status("t1", request_id="r")

    assert result.ok, result.error


# --- how answers are mapped ---------------------------------------------------------------

ERROR_BODY = {"error": "tenant_already_exists", "message": "Tenant hallym_univ already exists"}

# (status, body, error_kind, retryable)
MAPPING = [
    (200, ACTIVATED, None, False),
    (202, {"status": "activating", "tenant_id": "hallym_univ"}, None, False),
    (400, {"error": "invalid_request", "message": "bad"}, "http", False),
    (401, {"error": "invalid_signature", "message": "no"}, "http", False),
    (403, {"error": "forbidden", "message": "no"}, "http", False),
    (404, {"error": "tenant_not_found", "message": "?"}, "http", False),
    (409, ERROR_BODY, "http", False),
    (410, {"error": "tenant_purged", "message": "gone"}, "http", False),
    (422, {"error": "invalid_request", "message": "fields"}, "http", False),
    (408, None, "http", True),
    (425, None, "http", True),
    (429, None, "http", True),
    (500, None, "http", True),
    (502, b"<html>bad gateway</html>", "http", True),
    (503, {"error": "maintenance", "message": "back soon"}, "http", True),
    (504, None, "http", True),
    (301, None, "redirect", False),
    (302, None, "redirect", False),
    (307, None, "redirect", False),
    (308, None, "redirect", False),
    (200, b"{not json", "invalid_body", True),
    (200, b"", "invalid_body", True),
    (200, b"NaN", "invalid_body", True),
    (200, {"status": "activated", "tenant_id": "hallym_univ"}, "invalid_body", True),  # no url
    (200, {**ACTIVATED, "status": "done"}, "invalid_body", True),
    (200, [ACTIVATED], "invalid_body", True),
    (200, {**ACTIVATED, "tenant_id": "someone_else"}, "invalid_body", True),
]


@pytest.mark.parametrize(("status", "body", "kind", "retryable"), MAPPING)
def test_answer_is_mapped_to_error_kind_and_retryability(
    client, mocked, status, body, kind, retryable
):
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )
    headers = {"Location": "https://elsewhere.example/"} if 300 <= status < 400 else {}
    mocked.post(ACTIVATE_URL, status=status, body=raw, headers=headers)

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    assert result.error_kind == kind, result.error
    assert result.retryable is retryable
    assert result.ok is (kind is None)
    assert result.status_code == status
    assert (result.error is None) is (kind is None)


def test_error_body_is_parsed_and_named_in_the_error(client, mocked):
    mocked.post(ACTIVATE_URL, status=409, json=ERROR_BODY)

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    assert result.body == ERROR_BODY
    assert "HTTP 409" in result.error
    assert "tenant_already_exists: Tenant hallym_univ already exists" in result.error


def test_schema_invalid_2xx_keeps_an_excerpt_and_no_body(client, mocked):
    mocked.post(
        ACTIVATE_URL, json={"status": "activated", "tenant_id": "hallym_univ", "x": "y" * 5000}
    )

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    assert result.error_kind == "invalid_body"
    assert result.retryable
    assert result.body is None
    assert "access_url" in result.error
    assert len(result.body_excerpt) == 2000
    assert result.body_excerpt.startswith('{"status": "activated"')


def test_redirect_is_reported_with_its_target_and_not_followed(client, mocked):
    mocked.post(ACTIVATE_URL, status=302, headers={"Location": "http://169.254.169.254/"})

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    assert result.error_kind == "redirect"
    assert "169.254.169.254" in result.error
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        (requests.ConnectionError("Connection refused"), "connection"),
        (requests.ConnectTimeout("connect timed out"), "timeout"),
        (requests.ReadTimeout("read timed out"), "timeout"),
        (requests.exceptions.ChunkedEncodingError("broken"), "connection"),
    ],
)
def test_transport_failures_are_retryable_outcomes(client, mocked, exception, kind):
    mocked.post(ACTIVATE_URL, body=exception)

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    assert result.error_kind == kind
    assert result.retryable
    assert result.status_code is None
    assert not result.ok


def test_answer_over_the_size_cap_is_too_large_and_retryable(client, mocked, settings):
    settings.VENDOR_MAX_RESPONSE_BYTES = 1024
    mocked.get(STATUS_URL, json={**STATUS_BODY, "padding": "x" * 2000})

    result = client.status("hallym_univ", request_id="r")

    assert result.error_kind == "too_large"
    assert result.retryable
    assert "1024 bytes" in result.error


def test_private_ip_base_url_is_blocked_before_any_request(mocked):
    with VendorClient(make_target(base_url="http://10.0.0.1:8080")) as vendor:
        result = vendor.status("hallym_univ", request_id="r")

    assert result.error_kind == "blocked"
    assert not result.retryable
    assert "10.0.0.1" in result.error
    assert len(mocked.calls) == 0


def test_non_http_scheme_is_blocked(mocked):
    with VendorClient(make_target(base_url="ftp://vendor.example")) as vendor:
        result = vendor.status("hallym_univ", request_id="r")

    assert result.error_kind == "blocked"
    assert len(mocked.calls) == 0


# --- Retry-After --------------------------------------------------------------------------


def test_retry_after_seconds_is_read_on_429(client, mocked):
    mocked.get(STATUS_URL, status=429, headers={"Retry-After": "120"})

    result = client.status("hallym_univ", request_id="r")

    assert result.retry_after == 120
    assert result.retryable


def test_retry_after_http_date_is_read_on_503(client, mocked):
    mocked.get(STATUS_URL, status=503, headers={"Retry-After": "Wed, 21 Oct 2065 07:28:00 GMT"})

    result = client.status("hallym_univ", request_id="r")

    assert result.retry_after == 24 * 3600  # far future: capped at one day


def test_retry_after_is_ignored_on_other_statuses(client, mocked):
    mocked.get(STATUS_URL, status=500, headers={"Retry-After": "120"})

    assert client.status("hallym_univ", request_id="r").retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0),
        ("30", 30),
        (" 45 ", 45),
        ("Sat, 03 Jan 2026 12:01:30 GMT", 90),
        ("Sat, 03 Jan 2026 11:00:00 GMT", 0),  # in the past: retry now
        ("99999999", 86400),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("１２", None),  # full-width digits are no header value
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2026, 1, 3, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


# --- logging ------------------------------------------------------------------------------


def test_each_call_logs_one_line_without_secrets(client, mocked, caplog):
    mocked.post(ACTIVATE_URL, status=500)

    with caplog.at_level(logging.INFO, logger="services.vendor_client.client"):
        client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    lines = [r.getMessage() for r in caplog.records if r.name == "services.vendor_client.client"]
    assert len(lines) == 1
    assert lines[0].startswith(f"vendor call POST {ACTIVATE_URL} -> 500 in ")
    assert lines[0].endswith("(http)")
    assert "key-123" not in caplog.text
    assert SECRETS[0] not in caplog.text


def test_target_repr_hides_credentials():
    text = repr(make_target(oauth_client_secret="oauth-secret"))
    assert "key-123" not in text
    assert SECRETS[0] not in text
    assert "oauth-secret" not in text


# --- jwt and oauth2 -----------------------------------------------------------------------


@pytest.mark.usefixtures("market_key")
def test_jwt_auth_sends_a_short_lived_token_the_jwks_verifies(mocked):
    mocked.get(STATUS_URL, json=STATUS_BODY)

    with VendorClient(make_target(auth_type="jwt", api_key="")) as vendor:
        assert vendor.status("hallym_univ", request_id="r").ok

    token = mocked.calls[0].request.headers["Authorization"].removeprefix("Bearer ")
    jwk = jwt_keys.public_jwks()["keys"][0]
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience="keli_tutor",
        issuer="https://market.example",
    )
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["token_use"] == "service"
    assert "X-Market-API-Key" not in mocked.calls[0].request.headers


TOKEN_URL = "https://auth.vendor.example/oauth/token"


def oauth_target(**overrides):
    return make_target(
        auth_type="oauth2",
        api_key="",
        token_url=TOKEN_URL,
        oauth_client_id="market",
        oauth_client_secret="s3cret",
        **overrides,
    )


def test_oauth2_token_is_fetched_once_and_reused(mocked):
    mocked.post(
        TOKEN_URL, json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600}
    )
    mocked.get(STATUS_URL, json=STATUS_BODY)

    with VendorClient(oauth_target()) as vendor:
        assert vendor.status("hallym_univ", request_id="a").ok
        assert vendor.status("hallym_univ", request_id="b").ok

    token_calls = [c for c in mocked.calls if c.request.url == TOKEN_URL]
    assert len(token_calls) == 1
    token_request = token_calls[0].request
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"]}
    assert token_request.headers["Authorization"] == "Basic bWFya2V0OnMzY3JldA=="
    vendor_calls = [c for c in mocked.calls if c.request.url == STATUS_URL]
    assert [c.request.headers["Authorization"] for c in vendor_calls] == ["Bearer tok-1"] * 2


def test_oauth2_token_about_to_expire_is_fetched_again(mocked):
    mocked.post(TOKEN_URL, json={"access_token": "tok", "token_type": "bearer", "expires_in": 20})
    mocked.get(STATUS_URL, json=STATUS_BODY)

    with VendorClient(oauth_target()) as vendor:
        vendor.status("hallym_univ", request_id="a")
        vendor.status("hallym_univ", request_id="b")

    assert len([c for c in mocked.calls if c.request.url == TOKEN_URL]) == 2


def test_oauth2_token_is_dropped_after_a_401(mocked):
    mocked.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})
    mocked.get(STATUS_URL, status=401, json={"error": "unauthorized", "message": "expired"})

    with VendorClient(oauth_target()) as vendor:
        vendor.status("hallym_univ", request_id="a")
        vendor.status("hallym_univ", request_id="b")

    assert len([c for c in mocked.calls if c.request.url == TOKEN_URL]) == 2


def test_oauth2_scope_is_requested_when_set(mocked):
    mocked.post(TOKEN_URL, json={"access_token": "tok", "expires_in": 3600})
    mocked.get(STATUS_URL, json=STATUS_BODY)

    with VendorClient(oauth_target(oauth_scope="tenants")) as vendor:
        vendor.status("hallym_univ", request_id="a")

    assert parse_qs(mocked.calls[0].request.body.decode())["scope"] == ["tenants"]


@pytest.mark.parametrize(
    ("status", "body", "kind", "retryable"),
    [
        (500, {"error": "oops"}, "http", True),
        (401, {"error": "invalid_client"}, "http", False),
        (200, {"token_type": "bearer"}, "invalid_body", True),
        (200, {"access_token": "t", "token_type": "mac"}, "invalid_body", True),
        (200, "not json", "invalid_body", True),
    ],
)
def test_oauth2_token_failure_becomes_the_calls_outcome(mocked, status, body, kind, retryable):
    mocked.post(
        TOKEN_URL, status=status, body=json.dumps(body) if not isinstance(body, str) else body
    )

    with VendorClient(oauth_target()) as vendor:
        result = vendor.status("hallym_univ", request_id="a")

    assert result.error_kind == kind
    assert result.retryable is retryable
    assert "OAuth2 token request" in result.error
    assert not any(c.request.url == STATUS_URL for c in mocked.calls)


def test_a_vendors_bidi_controls_never_reach_the_error_body_or_excerpt(client, mocked):
    tricky = {"error": "tenant_already_exists", "message": "Tenant \u202eexe.fdp\u202c exists"}
    mocked.post(ACTIVATE_URL, status=409, json=tricky)

    result = client.activate("hallym_univ", ACTIVATE_PAYLOAD, request_id="r")

    for text in (result.error, result.body_excerpt, result.body["message"]):
        assert "\u202e" not in text and "\u202c" not in text
    assert "Tenant exe.fdp exists" in result.error
