"""The OpenAPI document, Swagger UI and Redoc: complete, valid, and served without the internet."""

import re
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                yield path, method, operation


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--lang", "en",
                 "--file", str(out), stdout=StringIO(), stderr=StringIO())  # fmt: skip
    assert yaml.safe_load(out.read_text())["openapi"].startswith("3.")


def test_every_endpoint_is_described_with_its_problems_and_bearer_security(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "smk_<prefix>_<secret>",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    seen = 0
    for path, method, operation in operations(schema):
        seen += 1
        assert path.startswith("/api/v1/"), path
        assert operation.get("summary"), (method, path)
        assert {"bearerAuth": []} in operation["security"], (method, path)
        for status in ("401", "403", "404", "429"):
            assert PROBLEM in operation["responses"][status]["content"], (method, path, status)
        if method in ("post", "patch"):
            assert "413" in operation["responses"] and "415" in operation["responses"]
        assert any(code.startswith("2") for code in operation["responses"]), (method, path)
    assert seen >= 35


def test_the_subscribe_operation_documents_202_and_the_idempotency_key(schema):
    operation = schema["paths"]["/api/v1/subscriptions"]["post"]
    assert "202" in operation["responses"]
    assert {"409", "422"} <= set(operation["responses"])
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"


def test_the_manifest_endpoints_take_yaml(schema):
    body = schema["paths"]["/api/v1/manifests/validate"]["post"]["requestBody"]["content"]
    assert {"application/yaml", "text/yaml", "application/json", "text/plain"} <= set(body)


def test_statements_document_their_csv(schema):
    detail = schema["paths"]["/api/v1/statements/{id}"]["get"]["responses"]["200"]["content"]
    assert set(detail) == {"application/json", "text/csv"}
    assert (
        "text/csv"
        in schema["paths"]["/api/v1/statements/{id}.csv"]["get"]["responses"]["200"]["content"]
    )


def test_the_schema_is_english_unless_asked(db):
    english = Client().get("/api/schema/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    korean = Client().get("/api/schema/", {"lang": "ko"}).content.decode()
    assert not re.search("[가-힣]", english)
    assert re.search("[가-힣]", korean)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_viewers_load_every_asset_from_the_market(db, path):
    response = Client().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/" in html or "/api/redoc/redoc.standalone.js" in html
    assert "/api/schema/" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "cdn" not in html.lower()


def test_the_redoc_bundle_names_no_outside_address(db):
    page = Client().get("/api/redoc/").content.decode()
    bundle_url = re.search(r'<script src="([^"]+)"', page).group(1)
    response = Client().get(bundle_url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    bundle = response.content.decode()
    assert "createElement" in bundle, "the real Redoc bundle, not an empty file"
    assert "cdn.redoc.ly" not in bundle


def test_the_schema_and_viewers_ignore_a_bad_token(db):
    response = Client().get("/api/schema/", HTTP_AUTHORIZATION="Bearer smk_revoked")
    assert response.status_code == 200
