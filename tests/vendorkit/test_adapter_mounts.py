"""The adapter mounted in WSGI (Flask) and ASGI (Starlette) applications: the standard's routes
are answered by it, with the raw path verified, and every other route is the vendor's own."""

from __future__ import annotations

import json
import uuid

from flask import Flask
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.vendorkit.adapter_support import CountingVendor, activate_body, market_headers
from vendorkit.adapter import StandardASGIMiddleware, StandardWSGIMiddleware

TENANT = "school/42"  # a tenant id the market URL-quotes: /mt/tenant/school%2F42/...
PATH = "/mt/tenant/school%2F42/activate"


def flask_app(vendor: CountingVendor, **options) -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def home():
        return "the vendor's own page"

    app.wsgi_app = StandardWSGIMiddleware(app.wsgi_app, vendor.adapter(**options))
    return app


def starlette_app(vendor: CountingVendor, **options):
    async def home(request):
        return PlainTextResponse("the vendor's own page")

    return StandardASGIMiddleware(Starlette(routes=[Route("/", home)]), vendor.adapter(**options))


def _post(client, path, payload: bytes, **header_options):
    headers = market_headers("POST", f"http://testserver{path}", payload, **header_options)
    return client.post(path, content=payload, headers=headers) if hasattr(client, "stream") else (
        client.post(path, data=payload, headers=headers)
    )  # fmt: skip


def test_flask_serves_the_standard_and_its_own_pages():
    vendor = CountingVendor()
    client = flask_app(vendor).test_client()
    assert client.get("/").text == "the vendor's own page"
    payload = json.dumps(activate_body(TENANT)).encode()
    answer = _post(client, PATH, payload, legacy=False)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.json["tenant_id"] == TENANT and list(vendor.tenants) == [TENANT]
    assert client.get("/mt/health").json["status"] == "healthy"


def test_starlette_serves_the_standard_and_its_own_pages():
    vendor = CountingVendor()
    client = TestClient(starlette_app(vendor))
    assert client.get("/").text == "the vendor's own page"
    payload = json.dumps(activate_body(TENANT)).encode()
    rid = str(uuid.uuid4())
    answer = _post(client, PATH, payload, legacy=False, request_id=rid)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tenant_id"] == TENANT
    replay = _post(client, PATH, payload, legacy=False, request_id=rid)
    assert replay.content == answer.content and replay.headers["idempotent-replayed"] == "true"
    assert vendor.calls["activate"] == 1


def test_an_oversized_body_is_refused_by_both_mounts():
    payload = json.dumps(activate_body(TENANT, tenant_name="x" * 5000)).encode()
    for client in (
        flask_app(CountingVendor(), max_body_bytes=1024).test_client(),
        TestClient(starlette_app(CountingVendor(), max_body_bytes=1024)),
    ):
        answer = _post(client, PATH, payload)
        assert answer.status_code == 413


def test_a_path_signed_for_one_tenant_is_refused_at_another():
    payload = json.dumps(activate_body("a")).encode()
    headers = market_headers(
        "POST", "http://testserver/mt/tenant/a/activate", payload, legacy=False
    )
    client = TestClient(starlette_app(CountingVendor()))
    answer = client.post("/mt/tenant/b/activate", content=payload, headers=headers)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_signature"
