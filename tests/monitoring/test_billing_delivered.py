"""Bills for the service delivered: active days from the tenant's state log, agreed prices.

Each amount is computed by hand in the comments, to the won.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from market.lib.months import days_in_month
from monitoring import billing
from monitoring.models import UsageReport
from tenants import states
from tenants.models import PlanChange, Tenant, TenantStateChange
from tests.factories import OrganizationFactory, PlanFactory, ServiceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

SEOUL = ZoneInfo("Asia/Seoul")
APRIL = date(2026, 4, 1)  # 30 days
S = Tenant.State


def at(day: int, hour: int = 12, month: int = 4) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SEOUL)


def log(tenant, *moves) -> None:
    previous = ""
    for state, when in moves:
        TenantStateChange.objects.create(tenant=tenant, previous=previous, state=state, at=when)
        previous = state


def subscription(*, price=90000, delivered=False, **fields):
    service = ServiceFactory()
    plan = PlanFactory(service=service, code="basic", name="Basic", price=price)
    return SubscriptionFactory(
        organization=fields.pop("organization", None) or OrganizationFactory(),
        service=service,
        plan=plan,
        delivered=delivered,
        **{"starts_on": date(2026, 4, 1), "ends_on": date(2027, 4, 1), **fields},
    )


def test_a_tenant_active_10_of_30_days_after_a_failed_first_attempt_pays_10_days():
    sub = subscription(price=90000)
    # Subscribed on April 1; the vendor refused the activation; staff retried once the vendor
    # was fixed and it became active on April 21 at 10:00.
    log(
        sub.tenant,
        (S.ACTIVATING, at(1, 9)),
        (S.NEEDS_ATTENTION, at(1, 9, month=4).replace(minute=5)),
        (S.ACTIVATING, at(21, 9)),
        (S.ACTIVE, at(21, 10)),
    )
    statement = billing.statement_generate(organization_id=sub.organization_id, month=APRIL)
    # April 21-30 is 10 of 30 days: 90,000 × 10 / 30 = 30,000 KRW.
    line = statement.lines.get()
    assert (line.quantity, line.amount) == (Decimal(10), Decimal(30000))
    assert "2026-04-21–2026-04-30, 10/30 days" in line.description
    assert statement.total == Decimal(30000)


def test_a_subscription_whose_tenant_never_became_active_gets_no_plan_line():
    school = OrganizationFactory()
    refused = subscription(organization=school, price=90000)
    log(refused.tenant, (S.ACTIVATING, at(1, 9)), (S.NEEDS_ATTENTION, at(1, 10)))
    stuck = subscription(organization=school, price=50000)
    log(stuck.tenant, (S.ACTIVATING, at(2, 9)))
    assert billing.statement_generate(organization_id=school.pk, month=APRIL) is None


def test_a_plan_change_mid_month_is_billed_at_the_prices_agreed_then():
    sub = subscription(price=30000)
    premium = PlanFactory(service=sub.service, code="premium", name="Premium", price=60000)
    log(sub.tenant, (S.ACTIVE, at(1, 0)), (S.UPDATING, at(11, 9)), (S.ACTIVE, at(11, 9)))
    PlanChange.objects.create(
        subscription=sub,
        from_plan=sub.plan,
        to_plan=premium,
        price=60000,
        requested_at=at(11, 9),
        effective_at=at(11, 9),
    )
    sub.plan = premium  # the vendor applied it
    sub.save()
    # Both plans' prices went up afterwards: the bill keeps the prices accepted.
    premium.price = 99000
    premium.save()
    sub.service.plans.filter(code="basic").update(price=77000)

    statement = billing.statement_generate(organization_id=sub.organization_id, month=APRIL)
    # Basic April 1-10: 30,000 × 10 / 30 = 10,000; Premium April 11-30: 60,000 × 20 / 30 = 40,000.
    lines = [
        (line.description, line.quantity, line.amount) for line in statement.lines.order_by("id")
    ]
    assert [(q, a) for _d, q, a in lines] == [
        (Decimal(10), Decimal(10000)),
        (Decimal(20), Decimal(40000)),
    ]
    assert "Basic (basic)" in lines[0][0] and "Premium (premium)" in lines[1][0]
    assert statement.total == Decimal(50000)


def test_a_tenant_deactivated_mid_month_pays_through_the_day_it_left():
    sub = subscription(price=30000)
    log(sub.tenant, (S.ACTIVE, at(1, 0)), (S.DEACTIVATING, at(5, 10)), (S.DEACTIVATED, at(5, 11)))
    statement = billing.statement_generate(organization_id=sub.organization_id, month=APRIL)
    # April 1-5: 30,000 × 5 / 30 = 5,000.
    assert statement.total == Decimal(5000)


def test_delivered_days_count_a_day_touched_and_not_one_left_at_midnight():
    changes = [(S.ACTIVE, at(3, 23)), (S.NEEDS_ATTENTION, at(6, 0).replace(hour=0))]
    days = billing.delivered_days(changes, APRIL)
    assert sorted(days) == [date(2026, 4, 3), date(2026, 4, 4), date(2026, 4, 5)]


def test_the_preview_bills_the_month_to_date_and_estimates_the_rest():
    sub = subscription(price=30000)
    log(sub.tenant, (S.ACTIVE, at(1, 0)))
    preview = billing.statement_preview(organization_id=sub.organization_id, now=at(16, 12))
    # April 1-16 so far: 30,000 × 16 / 30 = 16,000; the whole month if it stays active: 30,000.
    assert preview.month == APRIL
    assert (preview.total, preview.estimate_total) == (Decimal(16000), Decimal(30000))
    assert [line.quantity for line in preview.lines] == [Decimal(16)]


def test_usage_over_the_limits_is_flagged():
    sub = subscription(price=30000, max_users=100, storage_limit_gb=10)
    UsageReport.objects.create(
        tenant=sub.tenant,
        month=date(2026, 3, 1),
        state=UsageReport.State.COLLECTED,
        metrics={"active_users": 187, "storage_gb": 48.8, "api_calls": 5, "ai_tokens": 0},
    )
    over = billing.latest_over_limits(organization_id=sub.organization_id)
    assert [(o.metric, o.used, o.limit) for o in over] == [
        ("active_users", Decimal(187), Decimal(100)),
        ("storage_gb", Decimal("48.8"), Decimal(10)),
    ]


def test_a_plan_change_quote_prorates_the_rest_of_the_month():
    sub = subscription(price=30000)
    premium = PlanFactory(service=sub.service, code="premium", name="Premium", price=60000)
    quote = billing.plan_change_quote(subscription=sub, plan=premium, today=date(2026, 4, 21))
    # April 21-30 is 10 days: 30,000 × 10/30 = 10,000 now, 60,000 × 10/30 = 20,000 after.
    assert quote == (
        date(2026, 4, 21),
        date(2026, 4, 30),
        Decimal(10000),
        Decimal(20000),
        Decimal(10000),
    )


def test_a_renewal_quote_prorates_each_month_at_the_agreed_price():
    sub = subscription(price=31000, ends_on=date(2026, 5, 17))
    sub.plan.price = 99999  # the price list changed; the subscription keeps its price
    sub.plan.save()
    quote = billing.renewal_quote(
        subscription=sub, ends_on=date(2026, 6, 16), today=date(2026, 4, 20)
    )
    # May 17-31: 31,000 × 15/31 = 15,000; June 1-15: 31,000 × 15/30 = 15,500.
    assert quote.new == Decimal(30500)
    assert (quote.first, quote.last) == (date(2026, 5, 17), date(2026, 6, 15))


def test_issuing_a_closed_month_twice_issues_nothing_new():
    sub = subscription(price=30000)
    log(sub.tenant, (S.ACTIVE, at(1, 0)))
    assert billing.statements_issue_month(month=APRIL, today=date(2026, 5, 2)) == 1
    statement = sub.organization.statements.get()
    assert billing.statements_issue_month(month=APRIL, today=date(2026, 5, 2)) == 0
    again = sub.organization.statements.get()
    assert (again.pk, again.updated_at, again.total) == (statement.pk, statement.updated_at, 30000)


@pytest.mark.parametrize("month", [date(2026, 5, 1), date(2026, 6, 1), date(1999, 12, 1)])
def test_issuing_an_open_or_out_of_range_month_is_refused(month):
    with pytest.raises(billing.BillingError) as raised:
        billing.statements_issue_month(month=month, today=date(2026, 5, 2))
    assert raised.value.field == "month"


def test_the_lifecycles_own_moves_are_logged_and_billed_from_the_day_it_became_active():
    today = timezone.localdate()
    sub = subscription(price=31000, starts_on=today.replace(day=1))
    tenant = sub.tenant
    tenant.state = S.REQUESTED
    tenant.save()
    for target in (S.ACTIVATING, S.NEEDS_ATTENTION, S.ACTIVATING, S.ACTIVE):
        states.move(tenant, target)
        tenant.save()
    logged = list(tenant.state_changes.values_list("previous", "state"))
    assert logged == [
        (S.REQUESTED, S.ACTIVATING),
        (S.ACTIVATING, S.NEEDS_ATTENTION),
        (S.NEEDS_ATTENTION, S.ACTIVATING),
        (S.ACTIVATING, S.ACTIVE),
    ]
    preview = billing.statement_preview(organization_id=sub.organization_id)
    month_days = days_in_month(today)
    rest = month_days - today.day + 1  # from today, the day it became active
    assert [line.quantity for line in preview.estimate_lines] == [Decimal(rest)]
    assert preview.lines[0].quantity == 1  # today so far


def test_usage_over_the_limits_is_billed_at_the_overage_price_accepted():
    service = ServiceFactory()
    plan = PlanFactory(
        service=service,
        price=30000,
        overage_prices={"active_users": "1000", "storage_gb": "500"},
        unit_prices={},
    )
    sub = SubscriptionFactory(
        service=service,
        plan=plan,
        starts_on=date(2026, 4, 1),
        ends_on=date(2027, 4, 1),
        max_users=100,
        storage_limit_gb=10,
        delivered=False,
    )
    log(sub.tenant, (S.ACTIVE, at(1, 0)))
    plan.overage_prices = {"active_users": "9999"}  # raised later: the bill keeps 1,000
    plan.save()
    UsageReport.objects.create(
        tenant=sub.tenant,
        month=APRIL,
        state=UsageReport.State.COLLECTED,
        metrics={"active_users": 187, "storage_gb": 48.8, "api_calls": 0, "ai_tokens": 0},
    )
    statement = billing.statement_generate(organization_id=sub.organization_id, month=APRIL)
    lines = [
        (line.quantity, line.unit_price, line.amount) for line in statement.lines.order_by("id")
    ]
    # Plan 30,000; 87 users over × 1,000 = 87,000; 38.8 GB over × 500 = 19,400.
    assert lines == [
        (Decimal(30), Decimal("1000.0000"), Decimal(30000)),
        (Decimal(87), Decimal(1000), Decimal(87000)),
        (Decimal("38.8"), Decimal(500), Decimal(19400)),
    ]
    assert statement.total == Decimal(136400)
