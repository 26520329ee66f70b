"""The reference vendor refuses what the standard says to refuse, with the standard's codes."""

import http.client
import json
import time

import pytest

from tests.vendorkit.conftest import activate_body, assert_matches_schema, deactivate_body

TENANT_ROUTES = [
    ("POST", "/mt/tenant/hallym_univ/activate"),
    ("POST", "/mt/tenant/hallym_univ/deactivate"),
    ("GET", "/mt/tenant/hallym_univ/status"),
    ("GET", "/mt/tenant/hallym_univ/usage?period=monthly"),
    ("POST", "/mt/tenant/hallym_univ/update"),
    ("POST", "/mt/tenant/hallym_univ/delete"),
]


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    assert_matches_schema(body, "error.response.schema.json")
    return body


@pytest.mark.parametrize("method,path", TENANT_ROUTES)
def test_every_tenant_route_refuses_a_missing_api_key(vendor, method, path):
    response = vendor.call(method, path, {}, headers={"X-Market-API-Key": None})
    _assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("method,path", TENANT_ROUTES)
def test_every_tenant_route_refuses_a_wrong_api_key(vendor, method, path):
    _assert_error(vendor.call(method, path, {}, api_key="wrong-key"), 401, "unauthorized")


@pytest.mark.parametrize("method,path", TENANT_ROUTES)
def test_every_tenant_route_refuses_a_wrong_signature(vendor, method, path):
    response = vendor.call(method, path, {}, secrets=["not-the-vendor-secret"])
    _assert_error(response, 401, "invalid_signature")


@pytest.mark.parametrize("method,path", TENANT_ROUTES)
def test_every_tenant_route_refuses_a_stale_timestamp(vendor, method, path):
    response = vendor.call(method, path, {}, timestamp=int(time.time()) - 301 - 5)
    _assert_error(response, 401, "stale_timestamp")


def test_a_timestamp_from_the_future_is_stale_too(vendor):
    response = vendor.status("hallym_univ", timestamp=int(time.time()) + 400)
    _assert_error(response, 401, "stale_timestamp")


@pytest.mark.parametrize(
    "removed",
    [
        ["Signature"],
        ["Signature-Input"],
        ["Content-Digest"],
        # The legacy v1.0 header alone binds neither method nor path: it is not enough.
        ["Signature", "Signature-Input", "Content-Digest"],
    ],
)
def test_a_missing_signature_header_is_an_invalid_signature(vendor, removed):
    response = vendor.status("hallym_univ", headers=dict.fromkeys(removed))
    _assert_error(response, 401, "invalid_signature")


def test_a_missing_request_id_is_an_invalid_signature(vendor):
    response = vendor.status("hallym_univ", headers={"X-Market-Request-Id": None})
    _assert_error(response, 401, "invalid_signature")


def test_a_body_changed_after_signing_is_an_invalid_signature(vendor):
    signed = activate_body(plan="basic")
    response = vendor.activate(
        "hallym_univ", body=activate_body(plan="premium"), signed_body=json.dumps(signed).encode()
    )
    _assert_error(response, 401, "invalid_signature")
    assert vendor.status("hallym_univ").status_code == 404


def test_the_api_key_is_checked_before_the_signature(vendor):
    response = vendor.status("hallym_univ", api_key="wrong", secrets=["wrong-secret"])
    _assert_error(response, 401, "unauthorized")


def test_a_refused_request_changes_nothing(vendor):
    vendor.activate("hallym_univ", api_key="wrong-key")
    vendor.activate("hallym_univ", secrets=["wrong-secret"])
    assert vendor.status("hallym_univ").status_code == 404


@pytest.mark.parametrize("operation", ["activate", "deactivate", "update", "delete"])
def test_malformed_json_is_a_bad_request(vendor, operation):
    response = vendor.call("POST", f"/mt/tenant/hallym_univ/{operation}", raw=b'{"tenant_id": ')
    _assert_error(response, 400, "invalid_request")


def test_a_body_that_is_not_utf8_is_a_bad_request(vendor):
    response = vendor.call("POST", "/mt/tenant/hallym_univ/activate", raw=b"\xff\xfe{}")
    _assert_error(response, 400, "invalid_request")


def test_a_json_array_body_is_unprocessable(vendor):
    response = vendor.call("POST", "/mt/tenant/hallym_univ/activate", raw=b"[]")
    _assert_error(response, 422, "invalid_request")


@pytest.mark.parametrize(
    "field", ["tenant_id", "tenant_name", "plan", "features", "config", "admin"]
)
def test_activate_without_a_required_field_names_it(vendor, field):
    body = activate_body()
    del body[field]
    error = _assert_error(vendor.activate("hallym_univ", body=body), 422, "invalid_request")
    assert error["field"] == field
    assert field in error["message"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"config": {"max_users": "500", "storage_limit_gb": 100}}, "config.max_users"),
        ({"config": {"max_users": 500, "storage_limit_gb": 1.5}}, "config.storage_limit_gb"),
        ({"config": {"max_users": True, "storage_limit_gb": 100}}, "config.max_users"),
        ({"config": {"max_users": 0, "storage_limit_gb": 100}}, "config.max_users"),
        ({"config": {"storage_limit_gb": 100}}, "config.max_users"),
        ({"features": "ai_chat"}, "features"),
        ({"features": ["ai_chat", 3]}, "features"),
        ({"admin": {"email": "not-an-address", "name": "홍길동"}}, "admin.email"),
        ({"admin": {"email": "admin@hallym.ac.kr"}}, "admin.name"),
        ({"admin": "admin@hallym.ac.kr"}, "admin"),
        ({"tenant_name": ""}, "tenant_name"),
        ({"plan": 3}, "plan"),
        ({"tenant_id": "another_univ"}, "tenant_id"),
        ({"isolation": "VM_PER_TENANT"}, "isolation"),
        ({"subscription_id": 42}, "subscription_id"),
    ],
)
def test_activate_with_a_wrong_field_names_it(vendor, change, field):
    body = activate_body(**change)
    error = _assert_error(vendor.activate("hallym_univ", body=body), 422, "invalid_request")
    assert error["field"] == field
    assert vendor.status("hallym_univ").status_code == 404


def test_activate_accepts_the_optional_fields_and_ignores_unknown_ones(vendor):
    body = activate_body(
        isolation="SHARED", subscription_id="sub-1", future_field={"anything": True}
    )
    assert vendor.activate("hallym_univ", body=body).status_code == 200


@pytest.mark.parametrize(
    "change,field",
    [
        ({"reason": "bored"}, "reason"),
        ({"preserve_data": "yes"}, "preserve_data"),
        ({"deactivate_at": "tomorrow"}, "deactivate_at"),
        ({"deactivate_at": "2026-13-03T12:00:00Z"}, "deactivate_at"),
    ],
)
def test_deactivate_with_a_wrong_field_names_it(vendor, change, field):
    vendor.activate("hallym_univ")
    response = vendor.deactivate("hallym_univ", deactivate_body(**change))
    assert _assert_error(response, 422, "invalid_request")["field"] == field
    assert vendor.status("hallym_univ").json()["status"] == "active"


@pytest.mark.parametrize("field", ["reason", "preserve_data", "deactivate_at"])
def test_deactivate_without_a_required_field_names_it(vendor, field):
    body = deactivate_body()
    del body[field]
    response = vendor.deactivate("hallym_univ", body)
    assert _assert_error(response, 422, "invalid_request")["field"] == field


@pytest.mark.parametrize(
    "body,field",
    [
        ({"features": [], "config": {"max_users": 1, "storage_limit_gb": 1}}, "plan"),
        ({"plan": "basic", "config": {"max_users": 1, "storage_limit_gb": 1}}, "features"),
        ({"plan": "basic", "features": []}, "config"),
        (
            {"plan": "basic", "features": [], "config": {"max_users": -1, "storage_limit_gb": 1}},
            "config.max_users",
        ),
    ],
)
def test_update_with_a_missing_or_wrong_field_names_it(vendor, body, field):
    vendor.activate("hallym_univ")
    response = vendor.update("hallym_univ", body)
    assert _assert_error(response, 422, "invalid_request")["field"] == field


@pytest.mark.parametrize("body", [{}, {"reason": "cleanup"}])
def test_delete_needs_a_known_reason(vendor, body):
    response = vendor.delete("hallym_univ", body)
    assert _assert_error(response, 422, "invalid_request")["field"] == "reason"


@pytest.mark.parametrize(
    "query,field", [("period=weekly", "period"), ("period=monthly&month=2026-13", "month")]
)
def test_usage_with_a_wrong_query_names_the_parameter(vendor, query, field):
    vendor.activate("hallym_univ")
    response = vendor.usage("hallym_univ", query)
    assert _assert_error(response, 422, "invalid_request")["field"] == field


def test_an_unknown_path_is_not_found(vendor):
    response = vendor.call("GET", "/mt/tenant/hallym_univ/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_wrong_method_is_not_allowed(vendor):
    response = vendor.call("GET", "/mt/tenant/hallym_univ/activate")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def test_a_body_announced_larger_than_the_limit_is_refused_before_it_is_read(vendor):
    host, port = vendor.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest("POST", "/mt/tenant/hallym_univ/activate")
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert response.getheader("Connection") == "close"
        assert json.loads(response.read())["error"] == "invalid_request"
    finally:
        connection.close()
