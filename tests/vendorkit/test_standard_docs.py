"""The published standard: request schemas, OpenAPI, manifests and tables stay consistent."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from tests.vendorkit.conftest import REPO_ROOT, SCHEMA_DIR, activate_body, load_schema
from vendorkit import reference_validation as checks

STANDARD_DIR = REPO_ROOT / "docs" / "standard"
SEED_KO = REPO_ROOT.parent / "shared" / "seed" / "CONSULTING_REQUEST_v2.ko.md"
REQUEST_SCHEMAS = [
    "activate.request.schema.json",
    "deactivate.request.schema.json",
    "update.request.schema.json",
    "delete.request.schema.json",
]
VENDOR_PATHS = [
    "/mt/health",
    "/mt/tenant/{tenant_id}/activate",
    "/mt/tenant/{tenant_id}/deactivate",
    "/mt/tenant/{tenant_id}/status",
    "/mt/tenant/{tenant_id}/usage",
    "/mt/tenant/{tenant_id}/update",
    "/mt/tenant/{tenant_id}/delete",
]


def _properties_without_description(schema: Any, where: str = "") -> list[str]:
    missing = []
    if isinstance(schema, dict):
        for name, child in schema.get("properties", {}).items():
            if "description" not in child:
                missing.append(f"{where}/{name}")
            missing += _properties_without_description(child, f"{where}/{name}")
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                missing += _properties_without_description(schema[key], f"{where}/{key}")
    return missing


@pytest.mark.parametrize("name", REQUEST_SCHEMAS)
def test_request_schema_is_a_valid_2020_12_schema_with_its_id(name):
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://market.example/standard/schemas/{name}"


@pytest.mark.parametrize("name", REQUEST_SCHEMAS)
def test_every_request_schema_property_is_described(name):
    assert _properties_without_description(load_schema(name)) == []


@pytest.mark.parametrize("name", REQUEST_SCHEMAS)
def test_request_schema_examples_validate(name):
    schema = load_schema(name)
    assert schema["examples"]
    for example in schema["examples"]:
        jsonschema.Draft202012Validator(schema).validate(example)


def test_the_seed_activate_body_validates_unchanged():
    jsonschema.Draft202012Validator(load_schema("activate.request.schema.json")).validate(
        activate_body()
    )


# The reference vendor checks bodies by hand (stdlib only); it must agree with the schemas.
AGREEMENT_CASES = [
    ("activate", activate_body()),
    ("activate", activate_body(isolation="SHARED", subscription_id="s-1", extra=1)),
    ("activate", {k: v for k, v in activate_body().items() if k != "admin"}),
    ("activate", activate_body(config={"max_users": "5", "storage_limit_gb": 1})),
    ("activate", activate_body(config={"max_users": 0, "storage_limit_gb": 1})),
    ("activate", activate_body(config={"max_users": 5, "storage_limit_gb": -1})),
    ("activate", activate_body(features=[1])),
    ("activate", activate_body(admin={"email": "nope", "name": "x"})),
    ("activate", activate_body(isolation="VM")),
    ("activate", activate_body(tenant_name="")),
    (
        "deactivate",
        {
            "reason": "violation",
            "preserve_data": False,
            "deactivate_at": "2026-01-03T12:00:00+09:00",
        },
    ),
    ("deactivate", {"reason": "violation", "preserve_data": False}),
    (
        "deactivate",
        {"reason": "other", "preserve_data": False, "deactivate_at": "2026-01-03T12:00:00Z"},
    ),
    (
        "deactivate",
        {"reason": "violation", "preserve_data": 1, "deactivate_at": "2026-01-03T12:00:00Z"},
    ),
    (
        "deactivate",
        {"reason": "violation", "preserve_data": True, "deactivate_at": "2026-01-03 12:00"},
    ),
    (
        "update",
        {"plan": "basic", "features": [], "config": {"max_users": 1, "storage_limit_gb": 0}},
    ),
    ("update", {"plan": "basic", "features": []}),
    ("update", {"plan": "", "features": [], "config": {"max_users": 1, "storage_limit_gb": 0}}),
    ("delete", {"reason": "retention_expired"}),
    ("delete", {"reason": "tidy"}),
    ("delete", {}),
]


@pytest.mark.parametrize("operation,body", AGREEMENT_CASES)
def test_reference_checks_agree_with_the_published_request_schema(operation, body):
    schema = load_schema(f"{operation}.request.schema.json")
    schema_accepts = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.FormatChecker()
    ).is_valid(body)
    if operation == "activate":
        problems = checks.check_activate(body, path_tenant_id="hallym_univ")
    else:
        problems = getattr(checks, f"check_{operation}")(body)
    assert schema_accepts == (problems == []), problems


# -- OpenAPI --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return yaml.safe_load((STANDARD_DIR / "openapi.yaml").read_text(encoding="utf-8"))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_openapi_is_3_1_and_describes_every_vendor_endpoint(openapi):
    assert openapi["openapi"].startswith("3.1")
    assert set(VENDOR_PATHS) <= set(openapi["paths"])
    for path in VENDOR_PATHS:
        for operation in openapi["paths"][path].values():
            assert "responses" in operation, path
            assert "200" in operation["responses"], path


def test_openapi_references_resolve(openapi):
    refs = _refs(openapi)
    assert any(ref.startswith("./schemas/") for ref in refs)
    for ref in refs:
        if ref.startswith("./schemas/"):
            assert (STANDARD_DIR / ref).is_file(), ref
        else:
            assert ref.startswith("#/"), ref
            node: Any = openapi
            for part in ref[2:].split("/"):
                node = node[part]


def test_openapi_declares_the_standard_security_schemes(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["apiKey"]["name"] == "X-Market-API-Key"
    assert schemes["marketJwt"]["scheme"] == "bearer"
    assert "clientCredentials" in schemes["vendorOAuth2"]["flows"]
    assert schemes["marketSignature"]["name"] == "Signature"  # RFC 9421 (v1.1)
    assert openapi["paths"]["/mt/health"]["get"]["security"] == []


def test_openapi_documents_every_standard_error_code(openapi):
    text = (STANDARD_DIR / "openapi.yaml").read_text(encoding="utf-8")
    for code in (
        "unauthorized",
        "invalid_signature",
        "stale_timestamp",
        "invalid_request",
        "tenant_not_found",
        "tenant_already_exists",
        "tenant_purged",
    ):
        assert code in text


# -- manifests ------------------------------------------------------------------------------


def _manifest_validator() -> jsonschema.Draft202012Validator:
    path = SCHEMA_DIR / "manifest-1.0.schema.json"
    assert path.exists(), "manifest-1.0.schema.json is part of the published standard"
    return jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def _seed_manifest_block() -> str:
    if not SEED_KO.exists():
        pytest.skip(f"the Korean seed document is not at {SEED_KO}")
    text = SEED_KO.read_text(encoding="utf-8")
    section = text[text.index("### 3.1 manifest.yaml") :]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, "no yaml block in section 3.1 of the seed"
    return match.group(1)


def test_keli_example_is_the_seed_manifest_copied_exactly():
    example = (STANDARD_DIR / "examples" / "keli_tutor.manifest.yaml").read_text(encoding="utf-8")
    assert example == _seed_manifest_block()
    assert yaml.safe_load(example)["service"]["description"] == "AI 기반 학습 튜터"


def test_keli_example_validates_against_the_manifest_schema():
    example = yaml.safe_load((STANDARD_DIR / "examples" / "keli_tutor.manifest.yaml").read_text())
    assert list(_manifest_validator().iter_errors(example)) == []


@pytest.fixture(scope="module")
def reference_manifest() -> dict[str, Any]:
    path = REPO_ROOT / "vendorkit" / "reference_manifest.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_reference_manifest_validates_against_the_manifest_schema(reference_manifest):
    assert list(_manifest_validator().iter_errors(reference_manifest)) == []


def test_reference_manifest_declares_what_the_reference_vendor_does(reference_manifest):
    assert reference_manifest["service"]["id"] == "reference_tutor"
    assert reference_manifest["service"]["name"] == "Reference Tutor"
    assert reference_manifest["endpoints"]["base_url"] == "http://127.0.0.1:9001"
    assert reference_manifest["auth"] == {"type": "api_key", "header": "X-Market-API-Key"}
    assert reference_manifest["usage_report"] == {
        "supported": True,
        "metrics": ["api_calls", "ai_tokens", "storage_gb", "active_users"],
    }
    assert reference_manifest["launch"] == {"supported": True}
    assert reference_manifest["operations"]["async"] is False
    plans = reference_manifest["plans"]
    assert set(plans) == set(reference_manifest["features"]) == {"basic", "standard", "premium"}
    for code, plan in plans.items():
        assert plan["currency"] == "KRW"
        assert plan["features"] == reference_manifest["features"][code]
        assert set(plan["allowed_changes"]) == set(plans) - {code}
        assert plan["unit_prices"]["ai_tokens"] > 0


def test_reference_vendor_serves_every_path_its_manifest_declares(reference_manifest, vendor):
    vendor.activate("hallym_univ")
    endpoints = reference_manifest["endpoints"]
    for key, path in endpoints.items():
        if key == "base_url":
            continue
        url_path = path.replace("{tenant_id}", "hallym_univ")
        method = (
            "POST"
            if key in ("tenant_activate", "tenant_deactivate", "tenant_update", "tenant_delete")
            else "GET"
        )
        response = vendor.call(method, url_path, {} if method == "POST" else None)
        assert response.status_code != 404, key


# -- the human spec -------------------------------------------------------------------------


def _table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]


def test_readme_carries_the_outcome_table_of_outcomes_md():
    readme = (STANDARD_DIR / "README.md").read_text(encoding="utf-8")
    outcomes = (STANDARD_DIR / "outcomes.md").read_text(encoding="utf-8")
    rows = _table_rows(outcomes)
    assert len(rows) > 20
    for row in rows:
        assert row in readme, row
    assert "An unclear answer is never final" in readme
    assert "an unclear answer is never final" in outcomes


def test_readme_links_only_to_files_that_exist():
    readme = (STANDARD_DIR / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if target.startswith("http"):
            continue
        assert (STANDARD_DIR / target).exists(), target


def test_readme_has_a_korean_summary():
    readme = (STANDARD_DIR / "README.md").read_text(encoding="utf-8")
    assert "## 한국어 요약" in readme
    assert re.search(r"[가-힣]{20,}", readme.split("## 한국어 요약")[1].replace(" ", ""))
