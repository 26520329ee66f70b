"""vendorkit.adapter: verification, replay, idempotency, concurrency and bad input.

Requests are signed as docs/standard/signing.md says the market signs them (v1.1: RFC 9421 with
Content-Digest, made with PyPI http-message-signatures, plus the legacy X-Market-Signature);
answers are checked against docs/standard/schemas with jsonschema."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
import uuid

import jsonschema
import pytest

from tests.vendorkit.adapter_support import (
    API_KEY,
    OTHER_SECRET,
    SECRET,
    CountingVendor,
    activate_body,
    deactivate_body,
    signed_request,
)
from tests.vendorkit.conftest import SCHEMA_DIR
from vendorkit.adapter import HttpRequest, SQLStore

ACTION_CALLS = ("activate", "deactivate", "update", "delete", "usage")


def body(response) -> dict:
    return json.loads(response.body)


def schema_check(name: str, response) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(body(response))


@pytest.fixture
def vendor() -> CountingVendor:
    return CountingVendor()


def activate(adapter, tenant_id="t1", **options):
    return adapter.handle(
        signed_request(
            "POST", f"/mt/tenant/{tenant_id}/activate", activate_body(tenant_id), **options
        )
    )


# -- the whole lifecycle, shapes checked by the standard's own schemas ----------------------


def test_lifecycle_answers_match_the_standards_schemas(vendor):
    adapter = vendor.adapter()
    first = activate(adapter)
    assert first.status == 200
    schema_check("activate.response", first)
    assert body(first)["admin_credentials"] == {"temp_password": "pw-1"}
    status = adapter.handle(signed_request("GET", "/mt/tenant/t1/status"))
    schema_check("status.response", status)
    usage = adapter.handle(
        signed_request("GET", "/mt/tenant/t1/usage", query="period=monthly&month=2026-01")
    )
    schema_check("usage.response", usage)
    assert body(usage)["period"] == "2026-01"
    update = adapter.handle(
        signed_request(
            "POST",
            "/mt/tenant/t1/update",
            {"plan": "basic", "features": [], "config": {"max_users": 5, "storage_limit_gb": 1}},
        )
    )
    schema_check("update.response", update)
    off = adapter.handle(signed_request("POST", "/mt/tenant/t1/deactivate", deactivate_body("t1")))
    schema_check("deactivate.response", off)
    assert body(off)["data_preserved"] is True and body(off)["reactivation_deadline"].endswith("Z")
    again = adapter.handle(
        signed_request("POST", "/mt/tenant/t1/deactivate", deactivate_body("t1"))
    )
    assert again.status == 200 and body(again)["data_preserved"] is True
    assert vendor.calls["deactivate"] == 1  # already deactivated: answered without acting
    back = activate(adapter)
    assert back.status == 200 and vendor.tenants["t1"]["reactivated"] is True
    gone = adapter.handle(
        signed_request("POST", "/mt/tenant/t1/delete", {"reason": "admin_request"})
    )
    schema_check("delete.response", gone)
    purged = adapter.handle(signed_request("GET", "/mt/tenant/t1/status"))
    assert purged.status == 410 and body(purged)["error"] == "tenant_purged"
    health = adapter.handle(HttpRequest(method="GET", path="/mt/health"))  # no auth needed
    schema_check("health.response", health)


# -- replay and idempotency -----------------------------------------------------------------


def test_same_request_id_gets_the_first_answer_byte_for_byte_without_acting_again(vendor):
    adapter = vendor.adapter()
    rid = str(uuid.uuid4())
    first = activate(adapter, request_id=rid)
    adapter.handle(signed_request("POST", "/mt/tenant/t1/deactivate", deactivate_body("t1")))
    # A retry minutes later: same id, new signature and timestamp; the tenant changed since.
    retry = activate(adapter, request_id=rid, created=int(time.time()) + 5)
    assert retry.status == 200 and retry.body == first.body
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert vendor.calls["activate"] == 1
    assert vendor.tenants["t1"]["state"] == "deactivated"
    new_id = activate(adapter)  # a new id is a new operation: reactivation
    assert new_id.status == 200 and vendor.calls["activate"] == 2


def test_a_new_request_id_on_an_active_tenant_is_a_conflict(vendor):
    adapter = vendor.adapter()
    activate(adapter)
    conflict = activate(adapter)
    assert conflict.status == 409 and body(conflict)["error"] == "tenant_already_exists"
    assert vendor.calls["activate"] == 1


def test_a_request_id_reused_for_another_body_is_refused(vendor):
    adapter = vendor.adapter()
    rid = str(uuid.uuid4())
    activate(adapter, request_id=rid)
    other = signed_request(
        "POST", "/mt/tenant/t1/activate", activate_body("t1", plan="basic"), request_id=rid
    )
    refused = adapter.handle(other)
    assert refused.status == 422 and "different body" in body(refused)["message"]
    assert vendor.calls["activate"] == 1


# -- signatures: a changed body, path or query, a stale clock -------------------------------


@pytest.mark.parametrize("scheme", ["rfc9421", "legacy"])
def test_a_body_changed_after_signing_is_refused(vendor, scheme):
    adapter = vendor.adapter()
    request = signed_request(
        "POST", "/mt/tenant/t1/activate", activate_body("t1"), rfc9421=scheme == "rfc9421",
        legacy=scheme == "legacy",
    )  # fmt: skip
    request.body = request.body.replace(b"premium", b"basic__")
    refused = adapter.handle(request)
    assert refused.status == 401 and body(refused)["error"] == "invalid_signature"
    assert vendor.calls["activate"] == 0 and vendor.calls["status"] == 0


def test_a_body_with_a_recomputed_digest_but_the_old_signature_is_refused(vendor):
    from http_message_signatures.digests import ContentDigest

    request = signed_request("POST", "/mt/tenant/t1/activate", activate_body("t1"), legacy=False)
    request.body = json.dumps(activate_body("t1", plan="basic")).encode()
    request.headers["content-digest"] = ContentDigest.create(request.body)
    refused = vendor.adapter().handle(request)
    assert refused.status == 401 and body(refused)["error"] == "invalid_signature"


def test_a_path_changed_after_signing_is_refused(vendor):
    adapter = vendor.adapter()
    activate(adapter, "a")
    activate(adapter, "b")
    request = signed_request("POST", "/mt/tenant/a/deactivate", deactivate_body("a"), legacy=False)
    request.path = "/mt/tenant/b/deactivate"
    refused = adapter.handle(request)
    assert refused.status == 401 and body(refused)["error"] == "invalid_signature"
    # The legacy signature does not cover the path; the v1.1 body's tenant_id does.
    legacy = signed_request("POST", "/mt/tenant/a/deactivate", deactivate_body("a"), rfc9421=False)
    legacy.path = "/mt/tenant/b/deactivate"
    refused = adapter.handle(legacy)
    assert refused.status == 422 and body(refused)["field"] == "tenant_id"
    assert vendor.calls["deactivate"] == 0


def test_a_query_changed_after_signing_is_refused(vendor):
    adapter = vendor.adapter()
    activate(adapter)
    request = signed_request(
        "GET", "/mt/tenant/t1/usage", query="period=monthly&month=2026-01", legacy=False
    )
    request.query = "period=monthly&month=2025-01"
    assert adapter.handle(request).status == 401
    assert vendor.calls["usage"] == 0


@pytest.mark.parametrize("offset", [-400, 400])
@pytest.mark.parametrize("scheme", ["rfc9421", "legacy"])
def test_a_stale_or_future_timestamp_is_refused(vendor, offset, scheme):
    request = signed_request(
        "POST", "/mt/tenant/t1/activate", activate_body("t1"), created=int(time.time()) + offset,
        rfc9421=scheme == "rfc9421", legacy=scheme == "legacy",
    )  # fmt: skip
    refused = vendor.adapter().handle(request)
    assert refused.status == 401 and body(refused)["error"] == "stale_timestamp"
    assert vendor.calls["activate"] == 0


def test_a_timestamp_inside_the_window_is_accepted(vendor):
    assert activate(vendor.adapter(), created=int(time.time()) - 250).status == 200


def test_wrong_secret_and_missing_signature_are_refused(vendor):
    adapter = vendor.adapter()
    wrong = activate(adapter, secrets=[OTHER_SECRET])
    assert wrong.status == 401 and body(wrong)["error"] == "invalid_signature"
    unsigned = activate(adapter, rfc9421=False, legacy=False)
    assert unsigned.status == 401 and body(unsigned)["error"] == "invalid_signature"


def test_legacy_signatures_can_be_turned_off(vendor):
    adapter = vendor.adapter(accept_legacy_signatures=False)
    refused = activate(adapter, rfc9421=False)
    assert refused.status == 401 and body(refused)["error"] == "invalid_signature"
    assert activate(adapter, legacy=False).status == 200


def test_rotation_either_secret_verifies_the_market_previous_label(vendor):
    old_only = vendor.adapter(signing_secrets=[SECRET])
    # The market signs with the new secret (label market) and the old one (market-previous).
    assert activate(old_only, secrets=[OTHER_SECRET, SECRET], legacy=False).status == 200
    new_only = CountingVendor().adapter(signing_secrets=[OTHER_SECRET])
    assert activate(new_only, secrets=[OTHER_SECRET, SECRET], legacy=False).status == 200


def test_authentication_is_checked_first(vendor):
    adapter = vendor.adapter()
    missing = activate(adapter, api_key=None, secrets=[OTHER_SECRET])
    assert missing.status == 401 and body(missing)["error"] == "unauthorized"
    wrong = activate(adapter, api_key="not-the-key")
    assert wrong.status == 401 and body(wrong)["error"] == "unauthorized"
    rotating = vendor.adapter(api_keys=["new-key", API_KEY])
    assert activate(rotating).status == 200


def test_bearer_tokens_for_jwt_and_oauth2_services(vendor):
    adapter = vendor.adapter(api_keys=None, bearer_verifier=lambda token: token == "good")
    request = signed_request("GET", "/mt/tenant/x/status", api_key=None)
    assert adapter.handle(request).status == 401
    request.headers["authorization"] = "Bearer good"
    assert adapter.handle(request).status == 404  # authenticated; the tenant is unknown


# -- concurrency ----------------------------------------------------------------------------


def _at_once(count, send):
    barrier = threading.Barrier(count)
    answers = [None] * count

    def worker(index):
        barrier.wait()
        answers[index] = send(index)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_two_identical_activations_at_once_make_one_tenant():
    vendor = CountingVendor(slow_seconds=0.3)
    adapter = vendor.adapter()
    rid = str(uuid.uuid4())
    answers = _at_once(2, lambda _: activate(adapter, request_id=rid))
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].body == answers[1].body
    assert vendor.calls["activate"] == 1 and list(vendor.tenants) == ["t1"]


def test_two_activations_with_different_ids_at_once_make_one_tenant_and_one_conflict():
    vendor = CountingVendor(slow_seconds=0.2)
    adapter = vendor.adapter()
    answers = _at_once(2, lambda _: activate(adapter))
    assert sorted(a.status for a in answers) == [200, 409]
    assert vendor.calls["activate"] == 1


def test_two_processes_sharing_a_sql_store_act_once(tmp_path):
    """Two adapters (as two worker processes would be) over one SQLite database."""
    path = tmp_path / "vendor.sqlite3"
    vendor = CountingVendor(slow_seconds=0.3)

    def store():
        return SQLStore(connect=lambda: sqlite3.connect(path, timeout=10))

    adapters = [vendor.adapter(store=store()), vendor.adapter(store=store())]
    rid = str(uuid.uuid4())
    answers = _at_once(2, lambda i: activate(adapters[i], request_id=rid))
    assert [a.status for a in answers] == [200, 200] and answers[0].body == answers[1].body
    assert vendor.calls["activate"] == 1
    # A third adapter started later (a restart) still has the answer.
    later = activate(vendor.adapter(store=store()), request_id=rid)
    assert later.body == answers[0].body and vendor.calls["activate"] == 1


# -- bad input: the standard's errors, the vendor's functions untouched ----------------------


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        (b"{not json", 400, None),
        (b"[1, 2]", 422, "(body)"),
        (json.dumps(activate_body("t1", config={"max_users": "many", "storage_limit_gb": 1})).encode(), 422, "config.max_users"),
        (json.dumps({k: v for k, v in activate_body("t1").items() if k != "plan"}).encode(), 422, "plan"),
        (json.dumps(activate_body("t1", reactivation="yes")).encode(), 422, "reactivation"),
        (json.dumps(activate_body("other")).encode(), 422, "tenant_id"),
    ],
)  # fmt: skip
def test_bad_activate_bodies_get_the_standard_errors(vendor, raw, status, field):
    answer = vendor.adapter().handle(signed_request("POST", "/mt/tenant/t1/activate", raw=raw))
    assert answer.status == status
    schema_check("error.response", answer)
    assert body(answer)["error"] == "invalid_request"
    if field:
        assert body(answer)["field"] == field and field in body(answer)["message"]
    assert sum(vendor.calls.values()) == 0


def test_bad_deactivate_body_and_usage_month(vendor):
    adapter = vendor.adapter()
    missing = dict(deactivate_body("t1"))
    del missing["preserve_data"]
    answer = adapter.handle(signed_request("POST", "/mt/tenant/t1/deactivate", missing))
    assert answer.status == 422 and body(answer)["field"] == "preserve_data"
    month = adapter.handle(signed_request("GET", "/mt/tenant/t1/usage", query="month=2026-13"))
    assert month.status == 422 and body(month)["field"] == "month"
    assert sum(vendor.calls.values()) == 0


def test_an_oversized_body_is_refused_before_anything_else(vendor):
    adapter = vendor.adapter(max_body_bytes=1024)
    big = activate_body("t1", tenant_name="x" * 2000)
    answer = adapter.handle(signed_request("POST", "/mt/tenant/t1/activate", big))
    assert answer.status == 413 and body(answer)["error"] == "invalid_request"
    assert sum(vendor.calls.values()) == 0


@pytest.mark.parametrize(
    ("method", "operation", "payload"),
    [
        ("GET", "status", None),
        ("GET", "usage", None),
        ("POST", "deactivate", deactivate_body("ghost")),
        ("POST", "update", {"plan": "b", "features": [], "config": {"max_users": 1, "storage_limit_gb": 0}}),
        ("POST", "delete", {"reason": "admin_request"}),
    ],
)  # fmt: skip
def test_an_unknown_tenant_is_404_and_no_action_runs(vendor, method, operation, payload):
    answer = vendor.adapter().handle(
        signed_request(method, f"/mt/tenant/ghost/{operation}", payload)
    )
    assert answer.status == 404 and body(answer)["error"] == "tenant_not_found"
    assert all(vendor.calls[name] == 0 for name in ACTION_CALLS)


def test_wrong_method_and_unknown_route(vendor):
    adapter = vendor.adapter()
    wrong = adapter.handle(signed_request("GET", "/mt/tenant/t1/activate"))
    assert wrong.status == 405 and wrong.headers["Allow"] == "POST"
    assert adapter.handle(signed_request("GET", "/mt/tenant/t1/nothing")).status == 404
    assert adapter.handle(signed_request("GET", "/elsewhere")) is None  # the vendor's own app


def test_an_exception_in_a_vendor_function_is_a_500_without_traceback_and_is_retried(
    vendor, caplog
):
    adapter = vendor.adapter()
    vendor.fail.add("activate")
    rid = str(uuid.uuid4())
    failed = activate(adapter, request_id=rid)
    assert failed.status == 500 and body(failed)["error"] == "internal_error"
    assert b"Traceback" not in failed.body and b"password" not in failed.body
    assert "secret database password" in caplog.text  # logged for the vendor, not sent
    vendor.fail.clear()
    retry = activate(adapter, request_id=rid)  # the market's retry acts: 5xx was not stored
    assert retry.status == 200 and vendor.calls["activate"] == 2


def test_a_failing_status_function_is_a_500_too(vendor):
    vendor.fail.add("status")
    answer = vendor.adapter().handle(signed_request("GET", "/mt/tenant/t1/status"))
    assert answer.status == 500 and b"Traceback" not in answer.body


def test_a_negative_usage_number_is_the_vendors_bug_not_a_bill(vendor):
    adapter = vendor.adapter()
    activate(adapter)
    vendor.usage = lambda tenant_id, *, month: {"api_calls": -1}
    adapter.functions["usage"] = vendor.usage
    answer = adapter.handle(signed_request("GET", "/mt/tenant/t1/usage"))
    assert answer.status == 500


# -- slow activations: 202 and status ------------------------------------------------------


def test_slow_activation_answers_202_and_status_shows_activating():
    vendor = CountingVendor(pending=True)
    adapter = vendor.adapter(asynchronous=True)
    rid = str(uuid.uuid4())
    accepted = activate(adapter, request_id=rid)
    assert accepted.status == 202 and body(accepted) == {"status": "activating", "tenant_id": "t1"}
    schema_check("activate.response", accepted)
    assert activate(adapter, request_id=rid).body == accepted.body  # a retry: the same 202
    status = adapter.handle(signed_request("GET", "/mt/tenant/t1/status"))
    assert body(status)["status"] == "activating"
    vendor.tenants["t1"]["state"] = "active"  # the background job finished
    assert body(adapter.handle(signed_request("GET", "/mt/tenant/t1/status")))["status"] == "active"


def test_pending_without_async_in_the_manifest_is_not_answered_202():
    vendor = CountingVendor(pending=True)
    answer = activate(vendor.adapter())
    assert answer.status == 500  # an unclear answer the market retries, never a 202 it refuses


# -- stores ----------------------------------------------------------------------------------


def test_sql_store_forgets_answers_after_their_time_and_takes_over_abandoned_claims(tmp_path):
    now = [1000.0]
    store = SQLStore(connect=lambda: sqlite3.connect(tmp_path / "s.sqlite3"), clock=lambda: now[0])
    assert store.claim("k", fingerprint="f", ttl=60) is None
    held = store.claim("k", fingerprint="f", ttl=60)
    assert held is not None and held.status is None  # someone is acting
    now[0] += 200  # that worker died without answering
    assert store.claim("k", fingerprint="f", ttl=60) is None
    store.complete("k", status=200, body=b'{"a":1}', ttl=60)
    assert store.claim("k", fingerprint="f", ttl=60).body == b'{"a":1}'
    now[0] += 61
    assert store.claim("k", fingerprint="f", ttl=60) is None


class _FakeRedis:
    """The three Redis commands RedisStore uses, with SET NX semantics (no server here)."""

    def __init__(self):
        self.data = {}

    def set(self, key, value, nx=False, ex=None):
        if nx and key in self.data:
            return None
        self.data[key] = value
        return True

    def get(self, key):
        return self.data.get(key)

    def delete(self, key):
        self.data.pop(key, None)


def test_redis_store_round_trip():
    from vendorkit.adapter import RedisStore

    vendor = CountingVendor()
    adapter = vendor.adapter(store=RedisStore(_FakeRedis()))
    rid = str(uuid.uuid4())
    first = activate(adapter, request_id=rid)
    assert activate(adapter, request_id=rid).body == first.body
    assert vendor.calls["activate"] == 1


def test_secrets_in_standard_and_url_safe_base64_give_the_same_key():
    from vendorkit.adapter.verify import hmac_key

    raw = bytes(range(200, 232))  # bytes whose base64 holds + and /
    standard = "whsec_" + base64.b64encode(raw).decode()
    url_safe = "whsec_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert "+" in standard or "/" in standard
    assert hmac_key(standard) == hmac_key(url_safe) == raw
    assert hmac_key("dev-secret") == b"dev-secret"  # no prefix: its UTF-8 bytes
    assert hmac_key("whsec_***") is None


@pytest.mark.postgres
def test_sql_store_on_postgresql_acts_once_across_two_adapters():
    """The vendor's PostgreSQL through psycopg (placeholder %s), one table per run."""
    import os

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("DATABASE_URL is not PostgreSQL; run the postgres pass to check SQLStore on it")
    import psycopg

    table = f"vendorkit_idem_{uuid.uuid4().hex[:8]}"
    vendor = CountingVendor(slow_seconds=0.3)

    def store():
        return SQLStore(connect=lambda: psycopg.connect(url), placeholder="%s", table=table)

    try:
        adapters = [vendor.adapter(store=store()), vendor.adapter(store=store())]
        rid = str(uuid.uuid4())
        answers = _at_once(2, lambda i: activate(adapters[i], request_id=rid))
        assert [a.status for a in answers] == [200, 200] and answers[0].body == answers[1].body
        assert vendor.calls["activate"] == 1
    finally:
        with psycopg.connect(url) as connection:
            connection.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.parametrize("kind", ["memory", "sql"])
def test_stores_delete_expired_answers_of_other_request_ids(tmp_path, kind, monkeypatch):
    from vendorkit.adapter import MemoryStore
    from vendorkit.adapter import stores as stores_module

    monkeypatch.setattr(stores_module, "SWEEP_EVERY_CLAIMS", 3)
    now = [1000.0]
    path = tmp_path / "s.sqlite3"
    if kind == "memory":
        store = MemoryStore(clock=lambda: now[0])
    else:
        store = SQLStore(connect=lambda: sqlite3.connect(path), clock=lambda: now[0])
    store.claim("old", fingerprint="f", ttl=10)
    store.complete("old", status=200, body=b"{}", ttl=10)
    now[0] += 20
    store.claim("a", fingerprint="f", ttl=10)
    store.claim("b", fingerprint="f", ttl=10)  # the third claim sweeps
    if kind == "memory":
        assert "old" not in store._items and "b" in store._items
    else:
        with sqlite3.connect(path) as db:
            keys = {row[0] for row in db.execute("SELECT request_key FROM vendorkit_idempotency")}
        assert keys == {"a", "b"}


def test_jwt_bearer_verifier_checks_the_markets_service_tokens(vendor):
    """auth.type jwt: RS256 tokens checked against a JWKS served on 127.0.0.1."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from vendorkit.adapter import jwt_bearer_verifier

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        verifier = jwt_bearer_verifier(
            jwks_url=f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json",
            audience="keli_tutor",
            issuer="https://market.example",
        )
        adapter = vendor.adapter(api_keys=None, bearer_verifier=verifier)

        def status_with(**claims):
            now = int(time.time())
            body = {"iss": "https://market.example", "aud": "keli_tutor", "exp": now + 300,
                    "iat": now, "token_use": "service", **claims}  # fmt: skip
            token = jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})
            request = signed_request("GET", "/mt/tenant/ghost/status", api_key=None)
            request.headers["authorization"] = f"Bearer {token}"
            return adapter.handle(request).status

        assert status_with() == 404  # authenticated; the tenant is unknown
        assert status_with(aud="another_service") == 401
        assert status_with(token_use="launch") == 401
        assert status_with(exp=int(time.time()) - 10) == 401
        assert status_with(exp=int(time.time()) + 3600) == 401  # lives longer than 5 minutes
    finally:
        server.shutdown()
