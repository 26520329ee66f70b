"""GET /api/v1/events: each organisation sees only its own events; filters; cursors."""

import datetime

import pytest
from django.utils import timezone

from events.models import Event
from events.services import event_record
from tests.api.support import API, ids, problem_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(world):
    """One tenant.activated and one subscription.created per school; a service event per vendor."""
    rows = {}
    for school in ("school_a", "school_b"):
        objects = world.side(school).objects
        rows[school] = [
            event_record(type="subscription.created", subscription=objects["subscription"]),
            event_record(type="tenant.activated", tenant=objects["tenant"]),
        ]
    for vendor in ("vendor_a", "vendor_b"):
        service = world.side(vendor).objects["service"]
        rows[vendor] = [event_record(type="service.manifest_updated", service=service)]
    return rows


@pytest.mark.parametrize(
    ("side", "sees", "never"),
    [
        ("school_a", ["school_a"], ["school_b", "vendor_a", "vendor_b"]),
        ("school_b", ["school_b"], ["school_a", "vendor_a", "vendor_b"]),
        ("vendor_a", ["school_a", "vendor_a"], ["school_b", "vendor_b"]),
        ("vendor_b", ["school_b", "vendor_b"], ["school_a", "vendor_a"]),
    ],
)
def test_each_organisation_sees_only_its_own_events(world, logged, side, sees, never):
    response = world.side(side).api.get(f"{API}/events")
    assert response.status_code == 200
    got = ids(response)
    assert got == {event.pk for name in sees for event in logged[name]}
    for name in never:
        for event in logged[name]:
            assert world.side(side).api.get(f"{API}/events/{event.pk}").status_code == 404


def test_staff_see_every_event(world, logged):
    got = ids(world.staff.api.get(f"{API}/events", {"page_size": 200}))
    assert got == {event.pk for rows in logged.values() for event in rows}


def test_events_filter_by_type_object_and_time(world, logged):
    api = world.staff.api
    activated = ids(api.get(f"{API}/events", {"type": "tenant.activated"}))
    assert activated == {logged["school_a"][1].pk, logged["school_b"][1].pk}
    both = ids(api.get(f"{API}/events", {"type": "tenant.activated,subscription.created"}))
    assert len(both) == 4
    tenant = world.school_a.objects["tenant"]
    # A subscription's events concern its tenant too.
    assert ids(api.get(f"{API}/events", {"tenant": tenant.pk})) == {
        e.pk for e in logged["school_a"]
    }
    Event.objects.filter(pk=logged["school_b"][0].pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    assert logged["school_b"][0].pk not in ids(api.get(f"{API}/events", {"since": since}))


def test_an_unknown_event_type_is_a_problem_naming_the_known_ones(world, logged):
    response = world.school_a.api.get(f"{API}/events", {"type": "tenant.exploded"})
    body = problem_of(response)
    assert response.status_code == 400
    assert "tenant.exploded" in body["detail"] and "tenant.activated" in body["detail"]


def test_event_pages_follow_the_monotonic_id(world, logged):
    api = world.staff.api
    first = api.get(f"{API}/events", {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 6


def test_an_event_shows_its_actor_and_payload(world):
    subscription = world.school_a.objects["subscription"]
    event = event_record(
        type="subscription.created", actor=world.school_a.token_row, subscription=subscription
    )
    row = world.school_a.api.get(f"{API}/events/{event.pk}").json()
    assert row["actor"] == {
        "kind": "token",
        "label": world.school_a.token_row.name,
        "user_id": world.school_a.user.pk,
        "token_id": world.school_a.token_row.pk,
    }
    assert row["payload"]["subscription"]["plan"] == subscription.plan.code


def test_event_types_list_their_payload_schemas(world):
    rows = world.school_a.api.get(f"{API}/event-types").json()
    by_name = {row["name"]: row for row in rows}
    assert by_name["tenant.activated"]["payload_schema"]["required"] == ["tenant"]
    assert "subscription.plan_changed" in by_name


def test_the_openapi_document_publishes_each_payload_schema(anonymous):
    schema = anonymous.client.get("/api/schema/", {"format": "json"}).json()
    payload = schema["components"]["schemas"]["Event"]["properties"]["payload"]
    titles = {variant["title"] for variant in payload["oneOf"]}
    assert "tenant.activated (v1)" in titles and "statement.issued (v1)" in titles
