"""The catalog, manifest validation, service registration and manifest versions."""

import json

import pytest
import yaml

from services.models import Service
from tests.api.support import API, problem_of
from tests.support.vendors import manifest_text

pytestmark = pytest.mark.django_db

YAML = "application/yaml"


def test_the_catalog_lists_services_with_plans_features_health_and_manifest(world):
    body = world.school_a.api.get(f"{API}/services").json()
    assert body["count"] == 2
    alpha = next(s for s in body["results"] if s["service_id"] == "alpha_tutor")
    assert [p["code"] for p in alpha["plans"]] == ["basic", "premium"]
    assert alpha["plans"][0]["price"] == "100000"
    assert alpha["features"] == ["ai_chat", "rag"]
    assert alpha["vendor"] == {"slug": "vendor-a", "name": "Vendor_A"}
    assert alpha["health"]["state"] == "unknown"
    assert alpha["manifest"]["number"] == 1
    assert "data" not in alpha["manifest"]

    detail = world.school_a.api.get(f"{API}/services/alpha_tutor").json()
    assert detail["manifest"]["data"]["service"]["id"] == "alpha_tutor"


def test_the_catalog_filters_searches_and_orders(world):
    api = world.school_a.api
    assert [
        s["service_id"] for s in api.get(f"{API}/services", {"search": "beta"}).json()["results"]
    ] == ["beta_chat"]
    assert api.get(f"{API}/services", {"vendor": "vendor-a"}).json()["count"] == 1
    assert api.get(f"{API}/services", {"health": "healthy"}).json()["count"] == 0
    ordered = api.get(f"{API}/services", {"ordering": "-service_id"}).json()["results"]
    assert [s["service_id"] for s in ordered] == ["beta_chat", "alpha_tutor"]
    bad = api.get(f"{API}/services", {"status": "sparkling"})
    assert bad.status_code == 400
    assert problem_of(bad)["errors"][0]["field"] == "status"


def test_a_valid_manifest_validates_as_yaml_json_or_text(world):
    text = manifest_text(base_url="https://tutor.example")
    api = world.school_a.api
    for body, content_type in (
        (text, YAML),
        (text, "text/yaml"),
        (text, "text/plain; charset=utf-8"),
        (json.dumps(yaml.safe_load(text)), "application/json"),
    ):
        response = api.post(f"{API}/manifests/validate", body, content_type=content_type)
        assert response.status_code == 200, (content_type, response.content)
        assert response.json()["valid"] is True
        assert response.json()["manifest"]["service"]["id"] == "reference_tutor"


def test_an_invalid_manifest_is_a_422_with_pointer_line_and_korean(world):
    text = manifest_text(base_url="ftp://tutor.example").replace('version: "1.0"', "version: 1.0")
    response = world.vendor_a.api.post(f"{API}/manifests/validate", text, content_type=YAML)
    assert response.status_code == 422
    problem = problem_of(response)
    assert problem["type"].endswith("/manifest-invalid")
    fields = {e["field"]: e for e in problem["errors"]}
    assert "/endpoints/base_url" in fields
    error = fields["/endpoints/base_url"]
    assert error["line"] > 1
    assert error["message_ko"]
    assert error["message"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", YAML),
        (b"\xff\xfe\x00garbage", YAML),
        (b"[1, 2", "application/json"),
        (b"- a\n- b", YAML),
    ],
)
def test_unparseable_manifests_are_422_problems(world, body, content_type):
    response = world.vendor_a.api.post(f"{API}/manifests/validate", body, content_type=content_type)
    assert response.status_code == 422
    assert problem_of(response)["errors"]


def test_a_vendor_registers_a_service_and_gets_its_credentials_once(world, reference_vendor):
    text = manifest_text(base_url=reference_vendor.base_url, service_id="gamma_quiz")
    response = world.vendor_a.api.post(f"{API}/services", text, content_type=YAML)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["service"]["service_id"] == "gamma_quiz"
    assert body["service"]["status"] == "pending_review"  # listed once its checklist is clear
    assert body["credentials"]["api_key"] and body["credentials"]["signing_secret"]
    assert response["Location"] == f"{API}/services/gamma_quiz"
    service = Service.objects.get(service_id="gamma_quiz")
    assert service.vendor == world.vendor_a.objects["vendor"]
    assert service.manifests.get().submitted_by == world.vendor_a.user
    assert "credentials" not in world.vendor_a.api.get(f"{API}/services/gamma_quiz").json()

    taken = world.vendor_b.api.post(f"{API}/services", text, content_type=YAML)
    assert taken.status_code == 409
    assert problem_of(taken)["type"].endswith("/service-id-taken")
    twice = world.vendor_a.api.post(f"{API}/services", text, content_type=YAML)
    assert twice.status_code == 422
    assert Service.objects.filter(service_id="gamma_quiz").count() == 1


def test_only_vendor_tokens_register_services(world):
    text = manifest_text(base_url="https://tutor.example", service_id="delta")
    for side in ("school_a", "staff"):
        response = world.side(side).api.post(f"{API}/services", text, content_type=YAML)
        assert response.status_code == 403
        problem_of(response)
    assert not Service.objects.filter(service_id="delta").exists()


def test_an_invalid_registration_is_a_422_and_registers_nothing(world):
    response = world.vendor_a.api.post(f"{API}/services", "version: '1.0'\n", content_type=YAML)
    assert response.status_code == 422
    assert problem_of(response)["type"].endswith("/manifest-invalid")
    assert Service.objects.count() == 2


def test_a_vendor_submits_a_new_manifest_version_and_reads_the_history(world, reference_vendor):
    api = world.vendor_a.api
    text = manifest_text(base_url=reference_vendor.base_url, service_id="gamma_quiz")
    assert api.post(f"{API}/services", text, content_type=YAML).status_code == 201
    changed = text.replace("The Service Market's reference", "A better")
    response = api.post(f"{API}/services/gamma_quiz/manifests", changed, content_type=YAML)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["manifest"]["number"] == 2
    assert "+  description: A better" in body["diff"]
    history = api.get(f"{API}/services/gamma_quiz/manifests").json()
    assert [m["number"] for m in history["results"]] == [2, 1]
    assert history["results"][0]["raw_text"] == changed
    # The manifest cannot change the service id.
    other = manifest_text(base_url=reference_vendor.base_url, service_id="other_id")
    refused = api.post(f"{API}/services/gamma_quiz/manifests", other, content_type=YAML)
    assert refused.status_code == 422
    assert Service.objects.get(service_id="gamma_quiz").current_manifest.number == 2


def test_a_refused_manifest_version_shows_in_the_history_with_its_errors(world, reference_vendor):
    api = world.vendor_a.api
    text = manifest_text(base_url=reference_vendor.base_url, service_id="gamma_quiz")
    assert api.post(f"{API}/services", text, content_type=YAML).status_code == 201
    refused = api.post(
        f"{API}/services/gamma_quiz/manifests", 'version: "2.0"\n', content_type=YAML
    )
    assert refused.status_code == 422
    assert problem_of(refused)["type"].endswith("/manifest-invalid")
    history = api.get(f"{API}/services/gamma_quiz/manifests").json()["results"]
    assert [(m["number"], m["is_valid"]) for m in history] == [(2, False), (1, True)]
    assert history[0]["data"] is None
    assert any(error["pointer"] == "/version" for error in history[0]["errors"])
    assert history[1]["errors"] == []


def test_schools_read_no_manifest_history(world):
    response = world.school_a.api.get(f"{API}/services/alpha_tutor/manifests")
    assert response.status_code == 404
    problem_of(response)
