"""/api/v1/webhooks: registration refusals as problems, scoping, tests, secrets, resends."""

import pytest
from django.test import TestCase

from tests.api.support import API, ids, problem_of
from tests.support.receiver import Receiver
from webhooks.models import Delivery, DeliveryAttempt, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def _create(side, url, types=("tenant.activated",)):
    return side.api.post(f"{API}/webhooks", {"url": url, "event_types": list(types)})


def test_a_school_registers_an_endpoint_and_gets_its_secret(world, receiver):
    response = _create(world.school_a, receiver.url)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert endpoint.organization == world.school_a.objects["organization"]
    assert endpoint.owner_kind == "organization"
    assert "secret" not in world.school_a.api.get(f"{API}/webhooks/{endpoint.pk}").json()


@pytest.mark.parametrize(
    ("url", "slug", "field_text"),
    [
        ("http://10.0.0.5/hook", "webhook-url-private", "10.0.0.5"),
        ("http://169.254.169.254/latest", "webhook-url-private", "169.254.169.254"),
        ("ftp://example.com/x", "webhook-url-refused", "ftp"),
        ("http://127.0.0.1:1/hook", "webhook-url-unreachable", "127.0.0.1:1"),
    ],
)
def test_bad_urls_are_refused_with_a_problem_and_nothing_is_stored(
    world, settings, url, slug, field_text
):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]  # only loopback, as the stubs need
    response = _create(world.school_a, url)
    body = problem_of(response)
    assert response.status_code == 422
    assert body["type"].endswith(slug)
    assert body["errors"][0]["field"] == "url" and field_text in body["detail"]
    assert not Endpoint.objects.exists()


def test_http_is_refused_outside_development(world, settings, receiver):
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []  # development lists 127.0.0.1 and localhost
    body = problem_of(_create(world.school_a, receiver.url))
    assert body["type"].endswith("webhook-url-not-https") and "https://" in body["detail"]
    assert not Endpoint.objects.exists()


def test_an_unknown_event_type_is_refused_naming_the_known_ones(world, receiver):
    response = _create(world.school_a, receiver.url, types=["tenant.activated", "tenant.exploded"])
    body = problem_of(response)
    assert body["type"].endswith("webhook-unknown-event-type")
    assert "tenant.exploded" in body["detail"] and "subscription.created" in body["detail"]
    assert body["errors"][0]["field"] == "event_types"
    assert not Endpoint.objects.exists()


def test_an_oversized_test_payload_is_refused_and_nothing_stored(world, receiver, settings):
    settings.EVENTS_MAX_PAYLOAD_BYTES = 1024
    endpoint_id = _create(world.school_a, receiver.url).json()["id"]
    response = world.school_a.api.post(
        f"{API}/webhooks/{endpoint_id}/test", {"message": "x" * 2000}
    )
    body = problem_of(response)
    assert response.status_code == 413 and "1024" in body["detail"]
    assert not Delivery.objects.exists()


def test_schools_and_vendors_see_only_their_own_endpoints(world, receiver):
    mine = _create(world.school_a, receiver.url).json()["id"]
    theirs = _create(world.school_b, receiver.url).json()["id"]
    vendors = _create(world.vendor_a, receiver.url).json()["id"]
    assert ids(world.school_a.api.get(f"{API}/webhooks")) == {mine}
    assert ids(world.vendor_a.api.get(f"{API}/webhooks")) == {vendors}
    assert ids(world.staff.api.get(f"{API}/webhooks")) == {mine, theirs, vendors}
    for path in ("", "/secret", "/deliveries"):
        assert world.school_a.api.get(f"{API}/webhooks/{theirs}{path}").status_code == 404
    assert world.school_a.api.post(f"{API}/webhooks/{theirs}/test").status_code == 404
    assert world.school_a.api.delete(f"{API}/webhooks/{theirs}").status_code == 404
    assert world.vendor_b.api.post(f"{API}/webhooks/{theirs}/rotate-secret").status_code == 404


def test_a_test_event_is_delivered_logged_and_sent_again_under_the_same_id(world, receiver):
    endpoint_id = _create(world.school_a, receiver.url).json()["id"]
    with TestCase.captureOnCommitCallbacks(execute=True):
        sent = world.school_a.api.post(f"{API}/webhooks/{endpoint_id}/test", {"message": "안녕"})
    assert sent.status_code == 202
    # CELERY_TASK_ALWAYS_EAGER is off: run the task body the worker would run.
    from webhooks.dispatch import delivery_send

    delivery_send(delivery_id=sent.json()["id"], manual=True)
    log = world.school_a.api.get(f"{API}/webhooks/{endpoint_id}/deliveries").json()["results"]
    assert log[0]["state"] == "succeeded" and log[0]["attempt_log"][0]["status_code"] == 204
    assert log[0]["attempt_log"][0]["latency_ms"] >= 0

    again = world.school_a.api.post(
        f"{API}/webhooks/{endpoint_id}/deliveries/{log[0]['id']}/resend"
    )
    assert again.status_code == 202
    delivery_send(delivery_id=log[0]["id"], manual=True)
    assert len(receiver.requests) == 2
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    assert DeliveryAttempt.objects.filter(manual=True).count() == 2


def test_rotating_keeps_the_old_secret_for_the_overlap(world, receiver):
    created = _create(world.school_a, receiver.url).json()
    rotated = world.school_a.api.post(
        f"{API}/webhooks/{created['id']}/rotate-secret", {"overlap_hours": 2}
    ).json()
    assert rotated["secret"] != created["secret"]
    endpoint = Endpoint.objects.get(pk=created["id"])
    assert endpoint.signing_secrets() == [rotated["secret"], created["secret"]]


def test_enabling_a_disabled_endpoint_again_resets_its_failures(world, receiver):
    endpoint_id = _create(world.school_a, receiver.url).json()["id"]
    Endpoint.objects.filter(pk=endpoint_id).update(
        is_active=False, consecutive_failures=30, disabled_reason="failing"
    )
    body = world.school_a.api.patch(f"{API}/webhooks/{endpoint_id}", {"is_active": True}).json()
    assert body["is_active"] and body["consecutive_failures"] == 0 and body["disabled_reason"] == ""
