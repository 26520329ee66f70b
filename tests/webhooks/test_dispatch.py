"""Fan-out, signing, retries and disabling, in process against a loopback receiver."""

import json

import pytest
from django.test import TestCase
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events.models import Event
from events.services import event_record
from tests.factories import VendorFactory
from tests.webhooks.conftest import make_endpoint
from webhooks import dispatch
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_rotate_secret

pytestmark = pytest.mark.django_db


def _verify(endpoint_secret: str, request: dict) -> dict:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(endpoint_secret).verify(request["body"], headers)


def test_a_delivery_verifies_with_standardwebhooks_unchanged(receiver, two_schools):
    subscription, _other = two_schools
    endpoint = make_endpoint(receiver.url, organization=subscription.organization)
    event = event_record(type="tenant.activated", tenant=subscription.tenant)
    [delivery_id] = dispatch.event_fan_out(event_id=event.pk)

    assert dispatch.delivery_send(delivery_id=delivery_id) == "delivered"

    [request] = receiver.requests
    body = _verify(endpoint.secret, request)
    assert body["type"] == "tenant.activated"
    assert body["data"]["tenant"]["id"] == subscription.tenant_id
    assert body["data"]["event_id"] == event.pk
    assert request["headers"]["webhook-id"] == Delivery.objects.get().message_id
    with pytest.raises(WebhookVerificationError):
        _verify(make_endpoint(receiver.url).secret, request)  # another secret fails


def test_one_school_never_receives_another_schools_events(receiver, two_schools):
    first, second = two_schools
    mine = make_endpoint(receiver.url, organization=first.organization)
    theirs = make_endpoint(receiver.url + "?b", organization=second.organization)
    vendor_of_service = make_endpoint(receiver.url + "?v", vendor=first.service.vendor)
    other_vendor = make_endpoint(receiver.url + "?w", vendor=VendorFactory())
    staff = make_endpoint(receiver.url + "?s")

    event = event_record(type="subscription.created", subscription=first)
    dispatch.event_fan_out(event_id=event.pk)

    got = set(Delivery.objects.values_list("endpoint_id", flat=True))
    assert got == {mine.pk, vendor_of_service.pk, staff.pk}
    assert theirs.pk not in got and other_vendor.pk not in got


def test_an_endpoint_gets_only_the_types_it_asked_for(receiver, two_schools):
    subscription, _ = two_schools
    make_endpoint(
        receiver.url, organization=subscription.organization, event_types=["tenant.activated"]
    )
    skipped = event_record(type="subscription.created", subscription=subscription)
    assert dispatch.event_fan_out(event_id=skipped.pk) == []
    assert Event.objects.get(pk=skipped.pk).published_at is not None  # taken, not retried


def test_retries_after_500_and_timeout_carry_the_same_webhook_id(receiver, two_schools, settings):
    settings.WEBHOOK_TOTAL_TIMEOUT = 0.5
    subscription, _ = two_schools
    endpoint = make_endpoint(receiver.url, organization=subscription.organization)
    receiver.script(500)
    receiver.script(204, delay=2)  # answers after the total timeout
    event = event_record(type="tenant.activated", tenant=subscription.tenant)
    [delivery_id] = dispatch.event_fan_out(event_id=event.pk)

    assert dispatch.delivery_send(delivery_id=delivery_id) == "retry-scheduled"
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=event.created_at)
    assert dispatch.delivery_send(delivery_id=delivery_id) == "retry-scheduled"
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=event.created_at)
    assert dispatch.delivery_send(delivery_id=delivery_id) == "delivered"

    ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    for request in receiver.requests:
        _verify(endpoint.secret, request)
    log = list(Delivery.objects.get().attempt_log.order_by("number"))
    assert [(a.status_code, a.error_kind) for a in log] == [
        (500, "http"),
        (None, "timeout"),
        (204, ""),
    ]
    assert log[0].request_body == receiver.requests[0]["body"].decode()


def test_an_endpoint_is_disabled_after_the_limit_and_its_owner_told(
    receiver, two_schools, settings, mailoutbox
):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    subscription, _ = two_schools
    endpoint = make_endpoint(receiver.url, organization=subscription.organization)
    receiver.script(503, times=10)
    event = event_record(type="tenant.activated", tenant=subscription.tenant)
    [delivery_id] = dispatch.event_fan_out(event_id=event.pk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        for _attempt in range(3):
            Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=event.created_at)
            dispatch.delivery_send(delivery_id=delivery_id)

    endpoint.refresh_from_db()
    assert not endpoint.is_active and "3 deliveries in a row failed" in endpoint.disabled_reason
    Delivery.objects.filter(pk=delivery_id).update(next_attempt_at=event.created_at)
    assert dispatch.delivery_send(delivery_id=delivery_id) == "endpoint-disabled"
    assert len(receiver.requests) == 3
    assert Event.objects.filter(type="webhook_endpoint.disabled").count() == 1
    [message] = mailoutbox
    assert message.to == [subscription.organization.contact_email]
    assert receiver.url in message.body


def test_nothing_is_delivered_to_a_private_address(receiver, two_schools, settings):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []  # the suite allowlists 127.0.0.1 for stubs
    subscription, _ = two_schools
    make_endpoint(receiver.url, organization=subscription.organization)
    event = event_record(type="tenant.activated", tenant=subscription.tenant)
    [delivery_id] = dispatch.event_fan_out(event_id=event.pk)

    assert dispatch.delivery_send(delivery_id=delivery_id) == "retry-scheduled"

    assert receiver.requests == []
    attempt = Delivery.objects.get().attempt_log.get()
    assert attempt.error_kind == "blocked" and "127.0.0.1" in attempt.error


def test_during_rotation_both_secrets_verify(receiver, two_schools):
    subscription, _ = two_schools
    endpoint = make_endpoint(receiver.url, organization=subscription.organization)
    old_secret = endpoint.secret
    endpoint_rotate_secret(endpoint=endpoint, overlap_hours=1)
    endpoint = Endpoint.objects.get(pk=endpoint.pk)
    event = event_record(type="tenant.activated", tenant=subscription.tenant)
    [delivery_id] = dispatch.event_fan_out(event_id=event.pk)
    dispatch.delivery_send(delivery_id=delivery_id)

    [request] = receiver.requests
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert _verify(old_secret, request) == _verify(endpoint.secret, request)


def test_a_tenants_events_reach_an_endpoint_in_order(receiver, two_schools):
    subscription, _ = two_schools
    make_endpoint(receiver.url, organization=subscription.organization)
    first = event_record(
        type="tenant.activation_requested", tenant=subscription.tenant, data={"reactivation": False}
    )
    second = event_record(type="tenant.activated", tenant=subscription.tenant)
    [first_delivery] = dispatch.event_fan_out(event_id=first.pk)
    [second_delivery] = dispatch.event_fan_out(event_id=second.pk)
    receiver.script(500)

    # The thread goes on with the endpoint's next delivery, which waits for the first.
    assert dispatch.delivery_send(delivery_id=first_delivery) == "retry-scheduled"
    waiting = Delivery.objects.get(pk=second_delivery)
    assert waiting.state == "pending" and waiting.attempts == 0
    assert dispatch.delivery_send(delivery_id=second_delivery) == "not-due"
    Delivery.objects.filter(pk=first_delivery).update(next_attempt_at=first.created_at)
    assert dispatch.delivery_send(delivery_id=first_delivery) == "delivered"
    assert Delivery.objects.get(pk=second_delivery).state == "succeeded"  # went on with it
    types = [json.loads(r["body"])["type"] for r in receiver.requests]
    assert types == [
        "tenant.activation_requested",
        "tenant.activation_requested",
        "tenant.activated",
    ]


def test_a_busy_endpoint_does_not_take_more_than_its_share(receiver, two_schools, settings):
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 1
    subscription, other = two_schools
    slow = make_endpoint(receiver.url, organization=subscription.organization)
    fast = make_endpoint(receiver.url + "?fast", organization=other.organization)
    usage = event_record(type="subscription.created", subscription=subscription)
    other_event = event_record(type="subscription.created", subscription=other)
    dispatch.event_fan_out(event_id=usage.pk)
    dispatch.event_fan_out(event_id=other_event.pk)
    Delivery.objects.filter(endpoint=slow).update(state="in_flight", claimed_at=timezone.now())
    extra = Delivery.objects.create(endpoint=slow, event=other_event, message_id="msg_x")

    assert dispatch.delivery_send(delivery_id=extra.pk) == "endpoint-busy"
    assert Delivery.objects.get(pk=extra.pk).state == "pending"  # handed a slot later
    assert dispatch.delivery_send(delivery_id=Delivery.objects.get(endpoint=fast).pk) == "delivered"


def test_finishing_deliveries_hand_on_every_free_slot(receiver, two_schools, settings, monkeypatch):
    """Two finishes before the waiting one is claimed still leave two chains running."""
    settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    subscription, _ = two_schools
    endpoint = make_endpoint(receiver.url, organization=subscription.organization)
    event = event_record(type="subscription.created", subscription=subscription)
    rows = [
        Delivery.objects.create(endpoint=endpoint, event=event, message_id=f"msg_{n}")
        if n == 0
        else Delivery.objects.create(
            endpoint=endpoint,
            event=event_record(type="subscription.created", subscription=subscription),
            message_id=f"msg_{n}",
        )
        for n in range(4)
    ]
    Delivery.objects.filter(pk__in=[rows[0].pk, rows[1].pk]).update(
        state="in_flight", claimed_at=timezone.now()
    )
    queued = []
    monkeypatch.setattr(dispatch, "_enqueue", lambda ids, **kw: queued.append(list(ids)))

    Delivery.objects.filter(pk=rows[0].pk).update(state="succeeded")
    first = dispatch._hand_slot_on(endpoint, finished=rows[0])
    Delivery.objects.filter(pk=rows[1].pk).update(state="succeeded")
    second = dispatch._hand_slot_on(endpoint, finished=rows[1])

    # Each finishing thread goes on with the oldest waiting one; other free slots get tasks.
    assert (first, second) == (rows[2].pk, rows[2].pk)
    assert queued == [[], [rows[3].pk]]


def test_a_thread_goes_on_with_its_endpoints_waiting_deliveries(receiver, two_schools):
    subscription, _ = two_schools
    make_endpoint(receiver.url, organization=subscription.organization)
    events = [event_record(type="usage.collected", usage_report=_report(subscription, n), tenant=subscription.tenant) for n in range(3)]  # fmt: skip
    ids = [dispatch.event_fan_out(event_id=e.pk)[0] for e in events]

    assert dispatch.delivery_send(delivery_id=ids[0]) == "delivered"

    assert set(Delivery.objects.values_list("state", flat=True)) == {"succeeded"}
    assert len(receiver.requests) == 3


def _report(subscription, n):
    from datetime import date

    from monitoring.models import UsageReport

    return UsageReport.objects.create(
        tenant=subscription.tenant, month=date(2026, 1 + n, 1), state="collected"
    )
