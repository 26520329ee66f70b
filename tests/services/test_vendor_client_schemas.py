"""The standard's response schemas: well-formed, documented, and true to the seed's examples."""

import json

import pytest
from django.conf import settings
from jsonschema import Draft202012Validator

from services.vendor_client.schemas import RESPONSE_SCHEMAS, response_schema, validation_problem

SEED_EXAMPLES = {
    "health": {"status": "healthy", "version": "1.0.0", "timestamp": "2026-01-03T12:00:00Z"},
    "activate": {
        "status": "activated",
        "tenant_id": "hallym_univ",
        "access_url": "https://hallym.keli.k-university.ai",
        "admin_credentials": {"temp_password": "..."},
    },
    "deactivate": {
        "status": "deactivated",
        "tenant_id": "hallym_univ",
        "data_preserved": True,
        "reactivation_deadline": "2026-04-03T12:00:00Z",
    },
    "status": {
        "tenant_id": "hallym_univ",
        "status": "active",
        "plan": "premium",
        "created_at": "2026-01-01T00:00:00Z",
        "users": {"total": 150, "active_today": 45},
        "storage": {"used_gb": 25.5, "limit_gb": 100},
    },
    "usage": {
        "tenant_id": "hallym_univ",
        "period": "2026-01",
        "usage": {"api_calls": 15000, "ai_tokens": 500000, "storage_gb": 25.5, "active_users": 150},
    },
    "update": {"status": "updated", "tenant_id": "hallym_univ", "plan": "standard"},
    "delete": {"status": "deleted", "tenant_id": "hallym_univ"},
    "error": {"error": "tenant_already_exists", "message": "Tenant hallym_univ already exists"},
}

MORE_VALID = [
    ("activate", {"status": "activating", "tenant_id": "t"}),
    (
        "activate",
        {
            "status": "activated",
            "tenant_id": "t",
            "access_url": "https://x.example",
            "credentials_delivery": "email",
        },
    ),
    (
        "deactivate",
        {
            "status": "deactivated",
            "tenant_id": "t",
            "data_preserved": False,
            "reactivation_deadline": None,
        },
    ),
    (
        "health",
        {
            "status": "degraded",
            "version": "2",
            "timestamp": "2026-01-03T21:00:00.123+09:00",
            "checks": {"db": "slow"},
        },
    ),
    ("usage", {"tenant_id": "t", "period": "2026-12", "usage": {"gpu_minutes": 12.5}}),
    ("status", {"tenant_id": "t", "status": "suspended"}),
]

INVALID = [
    ("health", {"status": "ok", "version": "1", "timestamp": "2026-01-03T12:00:00Z"}),
    ("health", {"status": "healthy", "version": "1", "timestamp": "yesterday"}),
    ("health", {"status": "healthy", "version": "1"}),
    ("health", {"status": "healthy", "version": "", "timestamp": "2026-01-03T12:00:00Z"}),
    ("activate", {"status": "activated", "tenant_id": "t"}),
    ("activate", {"status": "activated", "tenant_id": "t", "access_url": "javascript:alert(1)"}),
    (
        "activate",
        {
            "status": "activated",
            "tenant_id": "t",
            "access_url": "https://x",
            "admin_credentials": {},
        },
    ),
    ("activate", {"status": "created", "tenant_id": "t", "access_url": "https://x"}),
    ("deactivate", {"status": "deactivated", "tenant_id": "t"}),
    ("deactivate", {"status": "deactivated", "tenant_id": "t", "data_preserved": "yes"}),
    ("status", {"tenant_id": "t", "status": "running"}),
    ("status", {"tenant_id": "t", "status": "active", "users": {"total": -1}}),
    ("usage", {"tenant_id": "t", "period": "2026-13", "usage": {}}),
    ("usage", {"tenant_id": "t", "period": "2026-01", "usage": {"api_calls": -5}}),
    ("usage", {"tenant_id": "t", "period": "2026-01", "usage": {"api_calls": 1.5}}),
    ("usage", {"tenant_id": "t", "period": "2026-01", "usage": {"tokens": "many"}}),
    ("usage", {"tenant_id": "t", "period": "2026-01", "usage": {"Bad Name": 1}}),
    ("update", {"status": "updated", "tenant_id": "t"}),
    ("delete", {"status": "deactivated", "tenant_id": "t"}),
    ("error", {"error": "Not Found", "message": "x"}),
    ("error", {"message": "x"}),
    ("status", ["not", "an", "object"]),
]


def _walk_properties(schema, where="(root)"):
    for name, sub in (schema.get("properties") or {}).items():
        yield f"{where}/{name}", sub
        yield from _walk_properties(sub, f"{where}/{name}")


@pytest.mark.parametrize("name", RESPONSE_SCHEMAS)
def test_schema_file_is_valid_2020_12_with_its_id(name):
    path = settings.BASE_DIR / "docs/standard/schemas" / f"{name}.response.schema.json"
    schema = json.loads(path.read_text())

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://market.example/standard/schemas/{name}.response.schema.json"
    assert schema["additionalProperties"] is True
    assert schema["description"]


@pytest.mark.parametrize("name", RESPONSE_SCHEMAS)
def test_every_property_is_described(name):
    undocumented = [
        where
        for where, sub in _walk_properties(response_schema(name))
        if not sub.get("description")
    ]
    assert undocumented == []


@pytest.mark.parametrize("name", RESPONSE_SCHEMAS)
def test_the_seed_example_fits(name):
    assert validation_problem(name, SEED_EXAMPLES[name]) is None


@pytest.mark.parametrize(("name", "body"), MORE_VALID)
def test_additive_and_optional_answers_fit(name, body):
    assert validation_problem(name, body) is None


@pytest.mark.parametrize(("name", "body"), INVALID)
def test_broken_answers_are_named(name, body):
    problem = validation_problem(name, body)
    assert problem is not None
    assert ":" in problem
