"""The staff overview's "needs a person now": every kind of trouble listed, counted and linked."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mailer.models import OutgoingMail
from mailer.services import mail_queue
from portal.selectors import needs_person, undelivered_mail
from services.models import Service
from tenants.models import Operation, Tenant
from tests.factories import SchoolAdminFactory, StaffFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

OS = Operation.State


def operation(subscription, state, **fields):
    return Operation.objects.create(
        tenant=subscription.tenant,
        subscription=subscription,
        kind=Operation.Kind.DEACTIVATE,
        state=state,
        **fields,
    )


@pytest.fixture
def trouble(world):
    """One of each: (the world already has 2 failed activations and 2 open incidents)."""
    now = timezone.now()
    long_ago = now - datetime.timedelta(hours=1)
    sub, other = (SubscriptionFactory(service=world.service_b) for _ in range(2))
    attention = operation(sub, OS.NEEDS_ATTENTION, last_error="unclear-answer")
    operation(world.subscription_a, OS.SUCCEEDED)  # supersedes school A's failed activation
    stuck = operation(other, OS.IN_FLIGHT, started_at=long_ago)
    Tenant.objects.filter(pk=sub.tenant_id).update(drifted=True, drift_reason="vendor-says-gone")
    Service.objects.filter(pk=world.service_b.pk).update(usage_noncompliant_since=now)
    failed_mail = mail_queue(kind="test", to=["a@example.org"], subject="failed", body_text="x")
    late_mail = mail_queue(kind="test", to=["b@example.org"], subject="late", body_text="x")
    fresh_mail = mail_queue(kind="test", to=["c@example.org"], subject="fresh", body_text="x")
    OutgoingMail.objects.filter(pk=failed_mail.pk).update(
        state=OutgoingMail.State.FAILED, created_at=now - datetime.timedelta(minutes=5)
    )
    OutgoingMail.objects.filter(pk=late_mail.pk).update(
        created_at=now - datetime.timedelta(hours=2)
    )
    return {
        "attention": attention,
        "stuck": stuck,
        "drifted": sub.tenant,
        "failed_mail": failed_mail,
        "late_mail": late_mail,
        "fresh_mail": fresh_mail,
    }


def count(page: str, name: str) -> int:
    return int(re.search(rf'data-testid="count-{name}">(\d+)<', page).group(1))


def test_counters_equal_the_lists(world, trouble, as_user):
    need = needs_person()
    life = need.lifecycle
    # School A's failed activation was followed by a newer operation: no longer a failure.
    assert [op.tenant.organization.name for op in life.failed] == ["Beta School"]
    assert [op.pk for op in life.needs_attention] == [trouble["attention"].pk]
    assert [op.pk for op in life.stuck] == [trouble["stuck"].pk]
    assert [t.pk for t in life.drifted] == [trouble["drifted"].pk]
    assert len(need.open_incidents.rows) == 2
    assert [s.pk for s in need.noncompliant_services] == [world.service_b.pk]
    assert [m.pk for m in need.undelivered_mail] == [
        trouble["failed_mail"].pk,
        trouble["late_mail"].pk,
    ]
    page = as_user(StaffFactory()).get(reverse("staff-overview")).content.decode()
    rows = {
        "failed": "failed-row",
        "attention": "attention-row",
        "stuck": "stuck-row",
        "drifted": "drifted-row",
        "incidents": "incident-row",
        "noncompliant": "noncompliant-row",
        "mail": "mail-row",
    }
    for counter, row in rows.items():
        assert count(page, counter) == page.count(f'data-testid="{row}"'), counter
        assert count(page, counter) >= 1, counter


def test_each_row_links_to_its_action(world, trouble, as_user):
    page = as_user(StaffFactory()).get(reverse("staff-overview")).content.decode()
    attention = trouble["attention"]
    assert reverse("admin:tenants_operation_change", args=[attention.pk]) in page
    assert reverse("staff-operation-retry", args=[attention.pk]) in page
    assert reverse("staff-operation-cancel", args=[attention.pk]) in page
    assert reverse("admin:tenants_tenant_change", args=[trouble["drifted"].pk]) in page
    assert reverse("admin:services_service_change", args=[world.service_b.pk]) in page


def test_a_failed_activation_is_not_none_on_the_overview(world, as_user, english):
    page = as_user(StaffFactory()).get(reverse("staff-overview")).content.decode()
    assert count(page, "failed") == 2
    assert "Nothing needs a person" not in page


def test_staff_retry_and_cancel_from_the_overview(world, trouble, as_user):
    client = as_user(StaffFactory())
    attention = trouble["attention"]
    response = client.post(reverse("staff-operation-cancel", args=[attention.pk]))
    assert response.status_code == 302
    attention.refresh_from_db()
    assert attention.state == OS.CANCELLED
    failed = needs_person().lifecycle.failed.rows[0]
    client.post(reverse("staff-operation-retry", args=[failed.pk]))
    failed.refresh_from_db()
    assert failed.state == OS.QUEUED
    # A second cancel of the same operation changes nothing and says why.
    response = client.post(reverse("staff-operation-cancel", args=[attention.pk]), follow=True)
    assert "취소" in response.content.decode() or "cancel" in response.content.decode()
    attention.refresh_from_db()
    assert attention.state == OS.CANCELLED


@pytest.mark.parametrize("who", ["school", "anonymous"])
def test_only_staff_may_act(world, trouble, client, as_user, who):
    if who == "school":
        client = as_user(SchoolAdminFactory(organization=world.school_a))
    attention = trouble["attention"]
    response = client.post(reverse("staff-operation-cancel", args=[attention.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    attention.refresh_from_db()
    assert attention.state == OS.NEEDS_ATTENTION


def test_counters_say_the_full_count_beyond_the_list(world, monkeypatch):
    from tenants import attention

    for _ in range(3):
        sub = SubscriptionFactory(organization=world.school_a)
        operation(sub, OS.NEEDS_ATTENTION)
    life = attention.lifecycle_attention(limit=2)
    assert len(life.needs_attention.rows) == 2
    assert life.needs_attention.count == 3 and life.needs_attention.more == 1


def test_undelivered_mail_is_failed_or_pending_for_over_an_hour(world, trouble):
    listed = {m.pk for m in undelivered_mail()}
    assert listed == {trouble["failed_mail"].pk, trouble["late_mail"].pk}
    assert trouble["fresh_mail"].pk not in listed


def test_the_monitoring_dashboard_has_a_lifecycle_section(world, trouble, as_user):
    page = as_user(StaffFactory()).get(reverse("monitoring:dashboard")).content.decode()
    assert 'data-testid="lifecycle-section"' in page
    assert re.search(r'data-testid="lifecycle-failed">1<', page)
    assert re.search(r'data-testid="lifecycle-stuck">1<', page)
    assert re.search(r'data-testid="lifecycle-drifted">1<', page)
    assert reverse("staff-overview") in page
