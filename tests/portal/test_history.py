"""History pages render the event log in the reader's language, naming who did it."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import translation

from events.models import Event
from events.services import event_record
from market.tokens import api_token_create
from portal.history import events_rendered
from tenants.models import Subscription
from tenants.operations import dispatch
from tenants.operations.services import subscription_cancel
from tests.factories import StaffFactory
from tests.portal.conftest import tenant_of
from tests.portal.test_query_counts import MORE, queries_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(dispatch, "send_to_worker", lambda *a, **k: None)


def _plan_changed(world, *, actor=None) -> Event:
    subscription = world.subscription_a
    subscription.plan = world.service_a.plans.get(code="premium")
    subscription.save()
    return event_record(
        type="subscription.plan_changed",
        actor=actor,
        subscription=Subscription.objects.get(pk=subscription.pk),
        tenant=tenant_of(subscription),
    )


def test_the_same_event_reads_in_korean_and_in_english_with_the_plan_name(world):
    event = _plan_changed(world, actor="apply_operations")
    with translation.override("ko"):
        korean = events_rendered([event])[0]
    with translation.override("en"):
        english = events_rendered([event])[0]
    assert korean.message == "요금제 변경: Premium"
    assert korean.actor_label == "예약 작업"
    assert english.message == "Plan changed: Premium"
    assert english.actor_label == "Scheduled job"
    assert "(으)로" not in korean.message and "premium" not in korean.message


def test_the_school_page_names_the_user_who_cancelled(world, as_user):
    subscription_cancel(subscription=world.subscription_a, cancelled_by=world.admin_a)
    client = as_user(world.admin_a)
    page = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    text = page.content.decode()
    name = world.admin_a.get_full_name() or world.admin_a.get_username()
    assert f'구독 해지 <span class="who">— {name}</span>' in text
    assert "event-of-alpha" in text  # the row stored before the log began is still shown


def test_an_api_cancel_names_the_token_not_the_system(world, as_user):
    token, plaintext = api_token_create(
        name="SIS sync", scope="organization", organization=world.school_a, created_by=None
    )
    response = Client().post(
        f"/api/v1/subscriptions/{world.subscription_a.pk}/cancel",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {plaintext}",
    )
    assert response.status_code == 202, response.content
    event = Event.objects.get(type="subscription.cancelled")
    assert (event.actor_kind, event.actor_token_id) == ("token", token.pk)
    page = as_user(world.admin_a).get(
        reverse("school-subscription", args=[world.subscription_a.pk])
    )
    text = page.content.decode()
    assert "— API 토큰 SIS sync" in text
    assert "— 시스템</span>" not in text.split("event-of-alpha")[0]


def test_the_vendor_tenant_page_reads_from_the_log_in_english(world, as_user, english):
    _plan_changed(world, actor=world.vendor_user_a)
    tenant = tenant_of(world.subscription_a)
    client = as_user(world.vendor_user_a)
    client.cookies["django_language"] = "en"
    page = client.get(
        reverse("vendor-tenant", args=[world.service_a.service_id, tenant.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page.status_code == 200
    assert "Plan changed: Premium" in page.content.decode()


def test_the_subscription_page_takes_the_same_queries_however_many_events(world, as_user):
    client = as_user(world.admin_a)
    url = reverse("school-subscription", args=[world.subscription_a.pk])
    _plan_changed(world, actor=world.admin_a)
    before = queries_of(client, url)
    for _ in range(MORE):
        _plan_changed(world, actor=world.admin_a)
        event_record(type="tenant.activated", actor="poll", tenant=tenant_of(world.subscription_a))
    assert queries_of(client, url) == before


def test_staff_read_django_log_entries_in_the_admin(world, client):
    staff = StaffFactory()
    LogEntry.objects.log_action(
        user_id=staff.pk,
        content_type_id=ContentType.objects.get_for_model(Subscription).pk,
        object_id=world.subscription_a.pk,
        object_repr="Alpha subscription",
        action_flag=CHANGE,
        change_message="Changed ends_on.",
    )
    client.force_login(staff, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get("/admin/admin/logentry/")
    assert page.status_code == 200
    assert "Alpha subscription" in page.content.decode()
    assert client.get("/admin/admin/logentry/add/").status_code == 403
