"""Every error is one RFC 9457 problem: field and reason, never a 500, never a partial write."""

import json

import pytest
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.utils import timezone

from market.api.problems import PROBLEM_TYPE_BASE
from tenants.models import Operation, Subscription
from tests.api.support import API, ApiClient, next_year, problem_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def counts():
    def snapshot():
        return Subscription.objects.count(), Operation.objects.count()

    return snapshot


def subscribe_body(**overrides) -> dict:
    body = {
        "service": "beta_chat",
        "plan": "premium",
        "ends_on": next_year(),
        "admin_email": "it@school-a.example",
        "admin_name": "Kim",
    }
    body.update(overrides)
    return body


def test_malformed_json_is_a_400_problem_naming_the_body(world, counts):
    before = counts()
    response = world.school_a.api.post(f"{API}/subscriptions", '{"service": "beta_chat",')
    assert response.status_code == 400
    problem = problem_of(response)
    assert problem["type"] == PROBLEM_TYPE_BASE + "malformed-body"
    assert problem["errors"][0]["field"] is None
    assert "JSON" in problem["errors"][0]["message"]
    assert counts() == before


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "NaN", "[" * 100_000])
def test_bodies_that_are_not_an_object_are_400_problems(world, counts, body):
    before = counts()
    response = world.school_a.api.post(f"{API}/subscriptions", body)
    assert response.status_code == 400
    assert problem_of(response)["errors"]
    assert counts() == before


def test_wrong_types_name_each_field_and_its_reason(world, counts):
    before = counts()
    response = world.school_a.api.post(
        f"{API}/subscriptions",
        subscribe_body(max_users="many", ends_on="tomorrow", admin_email="nope"),
    )
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in problem_of(response)["errors"]}
    assert set(errors) == {"max_users", "ends_on", "admin_email"}
    assert "integer" in errors["max_users"]
    assert "format" in errors["ends_on"].lower()
    assert counts() == before


def test_unknown_fields_are_rejected_not_ignored(world, counts):
    before = counts()
    response = world.school_a.api.post(f"{API}/subscriptions", subscribe_body(colour="blue"))
    assert response.status_code == 400
    assert problem_of(response)["errors"] == [{"field": "colour", "message": "Unknown field."}]
    assert counts() == before

    response = world.staff.api.patch(f"{API}/policy", {"incident_threshold": 4, "oops": True})
    assert response.status_code == 400
    assert [e["field"] for e in problem_of(response)["errors"]] == ["oops"]


def test_an_oversized_body_is_a_413_problem(world, counts, settings):
    before = counts()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps(subscribe_body(admin_name="x" * 20_000))
    response = world.school_a.api.post(f"{API}/subscriptions", body)
    assert response.status_code == 413
    assert problem_of(response)["type"] == PROBLEM_TYPE_BASE + "payload-too-large"
    response = world.vendor_a.api.post(
        f"{API}/manifests/validate", "a: b\n" * 5000, content_type="application/yaml"
    )
    assert response.status_code == 413
    assert counts() == before


def test_an_oversized_body_at_the_default_limit_is_a_413_problem(world):
    body = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = world.school_a.api.post(f"{API}/tokens", body)
    assert response.status_code == 413
    problem_of(response)


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/subscriptions/999999",
        f"{API}/subscriptions/abc",
        f"{API}/subscriptions/99999999999999999999999",
        f"{API}/tenants/-1",
        f"{API}/services/no_such_service",
        f"{API}/services/NOT-A-SLUG",
        f"{API}/subscriptions/",
        f"{API}/nothing-here",
        "/api/v2/services",
        "/api/",
    ],
)
def test_unknown_paths_and_ids_are_404_problems(world, path):
    response = world.school_a.api.get(path)
    assert response.status_code == 404
    problem_of(response)


def test_unknown_paths_are_404_problems_for_posts_too(world):
    response = world.school_a.api.post(f"{API}/nothing-here", {})
    assert response.status_code == 404
    problem_of(response)


def test_unknown_ids_in_the_body_name_the_field(world, counts):
    before = counts()
    for field, value in (("service", "no_such"), ("plan", "platinum")):
        response = world.school_b.api.post(f"{API}/subscriptions", subscribe_body(**{field: value}))
        assert response.status_code == 400
        assert problem_of(response)["errors"][0]["field"] == field
    assert counts() == before


def test_a_method_the_endpoint_lacks_is_a_405_problem_with_allow(world):
    subscription = world.school_a.objects["subscription"]
    response = world.school_a.api.delete(f"{API}/subscriptions/{subscription.pk}")
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    problem_of(response)
    assert Subscription.objects.filter(pk=subscription.pk).exists()


def test_an_unreadable_content_type_is_a_415_problem(world):
    response = world.school_a.api.post(
        f"{API}/subscriptions", "service=x", content_type="text/plain"
    )
    assert response.status_code == 415
    problem_of(response)


def test_an_unacceptable_accept_header_is_a_406_problem(world):
    response = world.school_a.api.get(f"{API}/subscriptions", headers={"Accept": "text/csv"})
    assert response.status_code == 406
    problem_of(response)


def test_lifecycle_errors_are_problems_with_the_field(world, counts):
    before = counts()
    # school_a already subscribes to alpha_tutor.
    response = world.school_a.api.post(
        f"{API}/subscriptions", subscribe_body(service="alpha_tutor", plan="basic")
    )
    assert response.status_code == 409
    problem = problem_of(response)
    assert problem["type"] == PROBLEM_TYPE_BASE + "already-subscribed"
    assert problem["errors"][0]["field"] == "service"

    response = world.school_a.api.post(
        f"{API}/subscriptions", subscribe_body(ends_on=timezone.localdate().isoformat())
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["field"] == "ends_on"
    assert counts() == before


def test_too_many_requests_is_a_429_problem_with_retry_after(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/minute"},
    }
    api = world.school_a.api
    assert [api.get(f"{API}/services").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(f"{API}/services")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    problem_of(response)
    # The bucket is the token's: another token is not slowed down.
    assert world.school_b.api.get(f"{API}/services").status_code == 200


def test_problems_follow_accept_language(world):
    english = world.school_a.api.get(f"{API}/subscriptions/999999")
    korean = world.school_a.api.client.get(
        f"{API}/subscriptions/999999",
        HTTP_AUTHORIZATION=f"Bearer {world.school_a.token}",
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert english.json()["detail"] != korean.json()["detail"]
    assert korean["Content-Language"] == "ko"


def test_an_unexpected_error_is_a_500_problem_not_a_page(world, monkeypatch):
    def explode(principal):
        raise RuntimeError("boom")

    monkeypatch.setattr("tenants.api.views.visible_tenants", explode)
    response = world.school_a.api.get(f"{API}/tenants")
    assert response.status_code == 500
    assert "boom" not in problem_of(response)["detail"]


def test_the_browser_session_works_and_is_csrf_checked(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.school_a.user)
    api = ApiClient(client=browser)
    assert api.get(f"{API}/subscriptions").status_code == 200

    refused = api.post(f"{API}/tokens", {"name": "from the browser"})
    assert refused.status_code == 403
    assert "CSRF" in problem_of(refused)["detail"]

    request = RequestFactory().get("/")
    token = get_token(request)  # what a page of the portal would hand the browser
    browser.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
    accepted = api.post(
        f"{API}/tokens", {"name": "from the browser"}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


def test_a_session_user_without_a_role_is_refused(db):
    browser = Client()
    browser.force_login(UserFactory())
    response = ApiClient(client=browser).get(f"{API}/services")
    assert response.status_code == 403
    problem_of(response)
