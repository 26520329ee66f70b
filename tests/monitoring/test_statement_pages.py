"""The upcoming-statement page (school and staff) and the staff's "issue a closed month"."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from monitoring.models import Statement, UsageReport
from tests.factories import (
    OrganizationFactory,
    PlanFactory,
    ServiceFactory,
    StaffFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def school_subscription():
    service = ServiceFactory(name="Keli Tutor")
    plan = PlanFactory(service=service, price=300000)
    first = timezone.localdate().replace(day=1)
    return SubscriptionFactory(
        organization=OrganizationFactory(name="Hallym"),
        service=service,
        plan=plan,
        starts_on=first,
        ends_on=first.replace(year=first.year + 1),
        max_users=100,
        storage_limit_gb=10,
    )


def test_a_school_sees_its_month_to_date_estimate_and_usage_over_limits(
    client, school_subscription
):
    UsageReport.objects.create(
        tenant=school_subscription.tenant,
        month=date(2026, 1, 1),
        state=UsageReport.State.COLLECTED,
        metrics={"active_users": 187, "storage_gb": 48.8},
    )
    client.force_login(UserFactory(organization=school_subscription.organization))
    with translation.override("en"):
        page = client.get(reverse("monitoring:statement-preview"), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "300,000 KRW" in text  # the whole month's estimate, active since the 1st
    assert "Keli Tutor" in text
    assert "187 users of 100" in text
    assert "48.8 GB of 10 GB" in text
    client.post(reverse("set_language"), {"language": "ko", "next": "/"})
    korean = client.get(reverse("monitoring:statement-preview"))
    text = korean.content.decode()
    assert "예정 청구서" in text
    assert "사용자 187명 (한도 100명)" in text


def test_staff_preview_a_chosen_school(client, school_subscription):
    other = SubscriptionFactory(organization=OrganizationFactory(name="Kangwon"))
    client.force_login(StaffFactory())
    page = client.get(
        reverse("monitoring:statement-preview"), {"school": other.organization_id}
    ).content.decode()
    assert "Kangwon" in page and "Hallym" in page  # both offered
    assert other.service.name in page
    assert "Keli Tutor" not in page.split("<table", 1)[1]


def test_staff_issue_a_closed_month_once(client):
    SubscriptionFactory(starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    client.force_login(StaffFactory())
    url = reverse("monitoring:statements-issue")
    client.post(url, {"month": "2026-03"})
    assert Statement.objects.filter(month=date(2026, 3, 1)).count() == 1
    again = client.post(url, {"month": "2026-03"}, follow=True)
    assert Statement.objects.count() == 1
    assert "nothing new" in again.content.decode() or "없습니다" in again.content.decode()
    refused = client.post(url, {"month": timezone.localdate().strftime("%Y-%m")}, follow=True)
    assert Statement.objects.count() == 1
    assert refused.status_code == 200


def test_a_school_admin_cannot_issue(client):
    client.force_login(UserFactory(organization=OrganizationFactory()))
    response = client.post(reverse("monitoring:statements-issue"), {"month": "2026-03"})
    assert response.status_code in (302, 403)
    assert Statement.objects.count() == 0


def test_the_issue_command_is_idempotent_and_names_a_bad_month():
    SubscriptionFactory(starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    out = StringIO()
    call_command("issue_statements", "2026-03", stdout=out)
    call_command("issue_statements", "2026-03", stdout=out)
    assert out.getvalue().splitlines() == [
        "1 statement(s) issued for 2026-03.",
        "0 statement(s) issued for 2026-03.",
    ]
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("issue_statements", "March")
    with pytest.raises(CommandError, match="2000-01"):
        call_command("issue_statements", "0001-01")
    assert Statement.objects.count() == 1
