"""Monthly statements, checked against amounts computed by hand."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import billing
from monitoring.models import Statement, StatementLine, UsageReport
from tenants.models import Subscription
from tests.factories import OrganizationFactory, PlanFactory, ServiceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

APRIL = date(2026, 4, 1)  # 30 days
MARCH = date(2026, 3, 1)  # 31 days


def subscribe(organization, *, price=100000, starts_on, ends_on, service=None, **fields):
    service = service or ServiceFactory()
    plan = PlanFactory(service=service, price=price, **fields.pop("plan_fields", {}))
    return SubscriptionFactory(
        organization=organization,
        service=service,
        plan=plan,
        starts_on=starts_on,
        ends_on=ends_on,
        **fields,
    )


def lines_of(statement):
    return [
        (line.kind, line.quantity, line.unit_price, line.amount)
        for line in statement.lines.order_by("id")
    ]


def test_a_subscription_active_for_half_the_month_pays_half():
    school = OrganizationFactory()
    subscribe(school, price=100000, starts_on=date(2026, 4, 16), ends_on=date(2027, 4, 16))

    statement = billing.statement_generate(organization_id=school.pk, month=APRIL)

    # April 16-30 is 15 of 30 days: 100,000 × 15 / 30 = 50,000 KRW.
    assert lines_of(statement) == [("plan", Decimal(15), Decimal("3333.3333"), Decimal(50000))]
    assert statement.total == Decimal(50000)
    assert statement.currency == "KRW"
    assert "15/30 days" in statement.lines.get().description


def test_a_whole_month_pays_the_full_price():
    school = OrganizationFactory()
    subscribe(school, price=100000, starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
    assert statement.total == Decimal(100000)


def test_a_subscription_ended_early_pays_through_the_day_it_ended():
    school = OrganizationFactory()
    subscribe(
        school,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        status=Subscription.Status.ENDED,
        ended_at=datetime(2026, 3, 10, 5, 0, tzinfo=UTC),  # 14:00 on March 10 in Seoul
    )
    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
    # March 1-10: 100,000 × 10 / 31 = 32,258.06 → 32,258 KRW.
    assert statement.total == Decimal(32258)


def test_a_subscription_ending_mid_month_stops_on_its_end_date():
    school = OrganizationFactory()
    subscribe(school, price=31000, starts_on=date(2025, 3, 21), ends_on=date(2026, 3, 21))
    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
    # Active March 1-20 (ends_on is the first day not covered): 31,000 × 20 / 31 = 20,000.
    assert statement.total == Decimal(20000)


def test_amounts_round_half_up_to_whole_won():
    school = OrganizationFactory()
    subscribe(school, price=75, starts_on=date(2026, 4, 30), ends_on=date(2026, 5, 30))
    statement = billing.statement_generate(organization_id=school.pk, month=APRIL)
    assert statement.total == Decimal(3)  # 75 × 1 / 30 = 2.5 → 3 (banker's rounding would say 2)


def test_a_yearly_plan_is_billed_a_twelfth_per_month():
    school = OrganizationFactory()
    subscribe(
        school,
        price=1_200_000,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        plan_fields={"billing_period": "yearly"},
    )
    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
    assert statement.total == Decimal(100000)


def test_usage_is_billed_at_the_plan_unit_prices():
    school = OrganizationFactory()
    subscription = subscribe(
        school,
        price=100000,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        plan_fields={"unit_prices": {"ai_tokens": "0.01", "api_calls": "0.5"}},
    )
    UsageReport.objects.create(
        tenant=subscription.tenant,
        month=MARCH,
        state=UsageReport.State.COLLECTED,
        metrics={"ai_tokens": 500000, "api_calls": 15001, "storage_gb": 25.5, "active_users": 150},
    )

    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)

    # Plan 100,000 + ai_tokens 500,000 × 0.01 = 5,000 + api_calls 15,001 × 0.5 = 7,500.5 → 7,501.
    assert lines_of(statement)[1:] == [
        ("usage", Decimal(500000), Decimal("0.01"), Decimal(5000)),
        ("usage", Decimal(15001), Decimal("0.5"), Decimal(7501)),
    ]
    assert statement.total == Decimal(112501)


@pytest.mark.parametrize(
    "state", [UsageReport.State.REJECTED, UsageReport.State.FAILED, UsageReport.State.PENDING]
)
def test_usage_that_was_not_collected_never_enters_a_bill(state):
    school = OrganizationFactory()
    subscription = subscribe(
        school,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        plan_fields={"unit_prices": {"api_calls": "1"}},
    )
    UsageReport.objects.create(
        tenant=subscription.tenant,
        month=MARCH,
        state=state,
        metrics={"api_calls": 999},
        error="metric api_calls is negative (-1)",
    )
    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
    assert [line[0] for line in lines_of(statement)] == ["plan"]
    assert statement.total == Decimal(100000)


def test_regenerating_a_month_gives_the_same_statement():
    school = OrganizationFactory()
    first_sub = subscribe(
        school,
        starts_on=date(2026, 3, 5),
        ends_on=date(2027, 3, 5),
        plan_fields={"unit_prices": {"ai_tokens": "0.02"}},
    )
    subscribe(school, price=55000, starts_on=date(2025, 6, 1), ends_on=date(2026, 3, 18))
    UsageReport.objects.create(
        tenant=first_sub.tenant,
        month=MARCH,
        state=UsageReport.State.COLLECTED,
        metrics={"ai_tokens": 123457},
    )

    first = billing.statement_generate(organization_id=school.pk, month=MARCH)
    first_lines = [
        (line.kind, line.description, line.quantity, line.unit_price, line.amount)
        for line in first.lines.order_by("id")
    ]
    second = billing.statement_generate(organization_id=school.pk, month=MARCH)
    second_lines = [
        (line.kind, line.description, line.quantity, line.unit_price, line.amount)
        for line in second.lines.order_by("id")
    ]

    assert second.pk == first.pk
    assert second_lines == first_lines
    assert second.total == first.total
    # 100,000 × 27/31 = 87,096.77 → 87,097; 55,000 × 17/31 = 30,161.29 → 30,161; 2,469.14 → 2,469.
    assert second.total == Decimal(87097 + 30161 + 2469)
    assert Statement.objects.count() == 1
    assert StatementLine.objects.count() == 3


def test_every_school_with_a_subscription_in_the_month_gets_a_statement():
    billed = [OrganizationFactory(), OrganizationFactory()]
    for school in billed:
        subscribe(school, starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    later = OrganizationFactory()
    subscribe(later, starts_on=date(2026, 4, 1), ends_on=date(2027, 4, 1))

    assert billing.statements_generate_month(month=MARCH) == 2
    assert set(Statement.objects.values_list("organization_id", flat=True)) == {
        school.pk for school in billed
    }


def test_a_school_with_nothing_in_the_month_gets_no_statement():
    school = OrganizationFactory()
    subscribe(school, starts_on=date(2026, 4, 1), ends_on=date(2027, 4, 1))
    assert billing.statement_generate(organization_id=school.pk, month=MARCH) is None


def test_csv_lists_every_line_and_the_total_without_formulas():
    school = OrganizationFactory(name="Hallym University")
    service = ServiceFactory(name='=HYPERLINK("http://evil")')
    subscribe(school, service=service, starts_on=date(2026, 4, 16), ends_on=date(2027, 4, 16))
    statement = billing.statement_generate(organization_id=school.pk, month=APRIL)

    rows = list(csv.reader(io.StringIO(billing.statement_csv(statement))))

    assert rows[0] == billing.CSV_HEADER
    assert rows[1][:3] == ["2026-04", "Hallym University", "plan"]
    assert rows[1][3].startswith("'=HYPERLINK")
    assert rows[1][4:] == ["15", "3333.3333", "50000", "KRW"]
    assert rows[-1] == ["2026-04", "Hallym University", "total", "", "", "", "50000", "KRW"]
    assert len(rows) == 3


# --- a whole month at once -----------------------------------------------------------------------


def snapshot(statement):
    return (
        statement.total,
        statement.currency,
        [
            (line.subscription_id, line.kind, line.description, line.quantity,
             line.unit_price, line.amount)
            for line in statement.lines.order_by("id")
        ],
    )  # fmt: skip


def report(subscription, month=MARCH, **metrics):
    return UsageReport.objects.create(
        tenant=subscription.tenant, month=month, state=UsageReport.State.COLLECTED, metrics=metrics
    )


def school_with_usage(*, services=2):
    school = OrganizationFactory()
    for _ in range(services):
        subscription = subscribe(
            school,
            starts_on=date(2026, 3, 5),
            ends_on=date(2027, 3, 5),
            plan_fields={"unit_prices": {"api_calls": "0.5"}},
        )
        report(subscription, api_calls=1001)
    return school


def test_the_months_run_bills_every_school_as_it_would_be_billed_alone():
    prorated = school_with_usage()
    ended = OrganizationFactory()
    subscribe(
        ended,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        status=Subscription.Status.ENDED,
        ended_at=datetime(2026, 3, 10, 5, 0, tzinfo=UTC),
    )
    subscribe(
        ended,
        price=1_200_000,
        starts_on=date(2025, 6, 1),
        ends_on=date(2026, 6, 1),
        plan_fields={"billing_period": "yearly", "unit_prices": {"ai_tokens": "0.01"}},
    )
    # A plan change in the month: usage is billed once, at the later plan's prices.
    changed = OrganizationFactory()
    service = ServiceFactory()
    old = subscribe(
        changed,
        service=service,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 3, 16),
        status=Subscription.Status.ENDED,
        plan_fields={"code": "basic", "unit_prices": {"api_calls": "9"}},
    )
    subscribe(
        changed,
        service=service,
        tenant=old.tenant,
        starts_on=date(2026, 3, 16),
        ends_on=date(2027, 3, 16),
        plan_fields={"code": "premium", "unit_prices": {"api_calls": "2"}},
    )
    report(old, api_calls=10)
    cancelled = OrganizationFactory()  # cancelled without an end: nothing to bill
    subscribe(
        cancelled,
        starts_on=date(2026, 1, 1),
        ends_on=date(2027, 1, 1),
        status=Subscription.Status.CANCELLED,
    )
    schools = [prorated, ended, changed, cancelled]
    alone = {}
    for school in schools:
        statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
        alone[school.pk] = None if statement is None else snapshot(statement)
    assert alone[cancelled.pk] is None
    assert [line[1] for line in alone[changed.pk][2]] == ["plan", "plan", "usage"]
    assert alone[changed.pk][2][-1][5] == Decimal(20)  # 10 × 2, the later plan's price
    Statement.objects.all().delete()

    assert billing.statements_generate_month(month=MARCH) == 3

    together = {s.organization_id: snapshot(s) for s in Statement.objects.all()}
    assert together == {pk: lines for pk, lines in alone.items() if lines is not None}


def test_running_a_month_twice_creates_nothing_twice():
    schools = [school_with_usage(), school_with_usage()]
    assert billing.statements_generate_month(month=MARCH) == 2
    first = {s.pk: snapshot(s) for s in Statement.objects.all()}

    assert billing.statements_generate_month(month=MARCH) == 2

    assert {s.pk: snapshot(s) for s in Statement.objects.all()} == first
    assert Statement.objects.count() == len(schools)
    assert StatementLine.objects.count() == 2 * 4


def test_the_months_run_empties_a_statement_that_has_nothing_left_to_bill():
    school = OrganizationFactory()
    subscription = subscribe(school, starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
    statement = billing.statement_generate(organization_id=school.pk, month=MARCH)
    Subscription.objects.filter(pk=subscription.pk).update(status=Subscription.Status.CANCELLED)

    assert billing.statements_generate_month(month=MARCH) == 1

    statement.refresh_from_db()
    assert statement.total == 0
    assert statement.lines.count() == 0


def test_the_months_run_takes_no_more_queries_for_six_schools_than_for_one(
    django_assert_max_num_queries,
):
    school_with_usage()
    with CaptureQueriesContext(connection) as one:
        assert billing.statements_generate_month(month=MARCH) == 1
    Statement.objects.all().delete()
    for _ in range(5):
        school_with_usage()
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert billing.statements_generate_month(month=MARCH) == 6
    assert StatementLine.objects.count() == 6 * 4


def test_the_months_run_writes_schools_in_chunks(monkeypatch):
    for _ in range(5):
        school_with_usage(services=1)
    chunks = []
    generate = billing.statements_generate

    def recorded(*, organization_ids, month):
        chunks.append(len(organization_ids))
        return generate(organization_ids=organization_ids, month=month)

    monkeypatch.setattr(billing, "SCHOOLS_PER_TRANSACTION", 2)
    monkeypatch.setattr(billing, "statements_generate", recorded)

    assert billing.statements_generate_month(month=MARCH) == 5

    assert chunks == [2, 2, 1]
    # 100,000 × 27/31 = 87,096.77 → 87,097; 1,001 api calls × 0.5 = 500.5 → 501.
    assert sorted(s.total for s in Statement.objects.all()) == [87097 + 501] * 5


def test_csv_neutralises_a_formula_after_spaces_and_drops_bidi_controls():
    school = OrganizationFactory(name=" =cmd|' /C calc'!A0")
    service = ServiceFactory(name="Tutor\u202egpj.exe")
    subscribe(school, service=service, starts_on=date(2026, 4, 16), ends_on=date(2027, 4, 16))
    statement = billing.statement_generate(organization_id=school.pk, month=APRIL)

    rows = list(csv.reader(io.StringIO(billing.statement_csv(statement))))

    assert rows[1][1] == "' =cmd|' /C calc'!A0"
    assert "\u202e" not in rows[1][3]
    assert "Tutorgpj.exe" in rows[1][3]
