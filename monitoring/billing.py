"""Monthly statements: each school's plans prorated by the days they were active, plus usage.

Rules (amounts in whole KRW, ``ROUND_HALF_UP``):

- A subscription is active from ``starts_on`` up to, not including, ``ends_on``; one ended early
  (``ended_at``) is active through the local day it ended. A cancelled subscription that never
  recorded an end is not billed.
- Plan line: ``price × active days in the month / days in the month`` (a yearly plan's price is
  divided by 12 first). Quantity is the active days, unit price the price of one day.
- Usage lines: for each tenant, the month's *collected* usage report times the unit prices the
  plan declares (``Plan.unit_prices``, metric → price). The plan is that of the tenant's latest
  subscription in the month, so a plan change never bills usage twice. Rejected, failed or
  pending reports never enter a bill; the statement page lists them.
- Regenerating a month replaces the lines in one transaction and gives the same statement.

A month's run (``statements_generate_month``) bills schools in bulk: for each chunk of schools
it reads the subscriptions, plans and collected reports in a few queries, builds every
statement's lines in memory and writes them in one transaction, so its queries do not grow
with the number of schools. One school's statement (``statement_generate``) goes through the
same reading, line builder (``statement_lines``) and writer.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from events.services import event_record_many
from market.lib.months import days_in_month, next_month
from market.lib.text import spreadsheet_cell
from monitoring.bulk import rows_insert, rows_update
from monitoring.models import Statement, StatementLine, UsageReport
from services.models import Plan, Service
from tenants.models import Subscription

logger = logging.getLogger(__name__)

WON = Decimal(1)
QUANTITY_STEP = Decimal("0.0001")
CURRENCY = "KRW"
# A month's run reads and writes this many schools' statements per transaction.
SCHOOLS_PER_TRANSACTION = 1000
STATEMENT_BATCH = 1000
LINE_BATCH = 5000


class BilledSubscription(NamedTuple):
    """What a bill needs of a subscription: one row of the month's query, service and plan."""

    pk: int
    tenant_id: int | None
    status: str
    starts_on: date
    ends_on: date
    ended_at: datetime | None
    service: Service
    plan: Plan


_SUBSCRIPTION_COLUMNS = BilledSubscription._fields[:-2]  # without service and plan


def active_span(
    subscription: Subscription | BilledSubscription, month: date
) -> tuple[date, date] | None:
    """The subscription's active days inside ``month`` as [first, end), or None if none."""
    month = month.replace(day=1)
    end = subscription.ends_on
    if subscription.ended_at is not None:
        end = min(end, timezone.localdate(subscription.ended_at) + timedelta(days=1))
    elif subscription.status == Subscription.Status.CANCELLED:
        return None
    first = max(subscription.starts_on, month)
    end = min(end, next_month(month))
    if end <= first:
        return None
    return first, end


def prorated_amount(*, price: Decimal, days: int, month_days: int, yearly: bool = False) -> Decimal:
    divisor = month_days * (12 if yearly else 1)
    return (Decimal(price) * days / divisor).quantize(WON, rounding=ROUND_HALF_UP)


class LineDraft(NamedTuple):
    """A statement line before it is written."""

    subscription_id: int | None
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def _plan_line(subscription: BilledSubscription, month: date) -> LineDraft | None:
    span = active_span(subscription, month)
    if span is None:
        return None
    first, end = span
    days = (end - first).days
    month_days = days_in_month(month)
    plan = subscription.plan
    yearly = plan.billing_period == "yearly"
    per_day = Decimal(plan.price) / (month_days * (12 if yearly else 1))
    description = (
        f"{subscription.service.name} — {plan.name} ({plan.code}), "
        f"{first:%Y-%m-%d}–{end - timedelta(days=1):%Y-%m-%d}, {days}/{month_days} days"
    )
    return LineDraft(
        subscription_id=subscription.pk,
        kind=StatementLine.Kind.PLAN,
        description=description[:300],
        quantity=Decimal(days),
        unit_price=per_day.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP),
        amount=prorated_amount(price=plan.price, days=days, month_days=month_days, yearly=yearly),
    )


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _usage_lines(subscription: BilledSubscription, metrics: dict) -> list[LineDraft]:
    lines = []
    for metric, raw_price in sorted((subscription.plan.unit_prices or {}).items()):
        unit_price = _decimal(raw_price)
        quantity = _decimal((metrics or {}).get(metric))
        if unit_price is None or unit_price < 0:
            logger.warning("plan %s has an unusable unit price for %s", subscription.plan, metric)
            continue
        if quantity is None or quantity <= 0:
            continue
        quantity = quantity.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP)
        lines.append(
            LineDraft(
                subscription_id=subscription.pk,
                kind=StatementLine.Kind.USAGE,
                description=f"{subscription.service.name} — {metric}"[:300],
                quantity=quantity,
                unit_price=unit_price,
                amount=(quantity * unit_price).quantize(WON, rounding=ROUND_HALF_UP),
            )
        )
    return lines


def statement_lines_build(
    subscriptions: Sequence[BilledSubscription], usage: Mapping[int, dict], month: date
) -> list[LineDraft]:
    """One school's lines for ``month``, in a stable order: its plans, then its usage.

    ``subscriptions`` are the school's subscriptions that overlap the month, ordered by service
    name, start and pk; ``usage`` maps tenant pks to the metrics of their collected reports of
    the month (other tenants' entries are ignored). Every statement is built here, one
    school's or a whole month's.
    """
    drafts: list[LineDraft] = []
    latest_by_tenant: dict[int, BilledSubscription] = {}
    for subscription in subscriptions:
        line = _plan_line(subscription, month)
        if line is None:
            continue
        drafts.append(line)
        if subscription.tenant_id is not None:
            latest_by_tenant[subscription.tenant_id] = subscription  # ordered by starts_on
    reported = [tenant for tenant in latest_by_tenant if tenant in usage]
    for tenant in sorted(reported, key=lambda t: latest_by_tenant[t].service.name):
        drafts.extend(_usage_lines(latest_by_tenant[tenant], usage[tenant]))
    return drafts


def _month_drafts(*, organization_ids: Sequence[int], month: date) -> dict[int, list[LineDraft]]:
    """Every listed school's lines for ``month``, read in four queries however many schools.

    Rows are read as tuples: a month holds thousands of subscriptions and reports but few
    services and plans, which are loaded once each.
    """
    subscriptions = Subscription.objects.filter(
        organization_id__in=list(organization_ids),
        starts_on__lt=next_month(month),
        ends_on__gt=month,
    )
    ordered = subscriptions.order_by("organization_id", "service__name", "starts_on", "pk")
    # Each row: the school, service and plan, then BilledSubscription's own fields in order.
    rows = list(
        ordered.values_list("organization_id", "service_id", "plan_id", *_SUBSCRIPTION_COLUMNS)
    )
    services = Service.objects.in_bulk({row[1] for row in rows})
    plans = Plan.objects.in_bulk({row[2] for row in rows})
    by_school: dict[int, list[BilledSubscription]] = {pk: [] for pk in organization_ids}
    for organization_id, service_id, plan_id, *fields in rows:
        by_school[organization_id].append(
            BilledSubscription(*fields, service=services[service_id], plan=plans[plan_id])
        )
    usage = dict(
        UsageReport.objects.filter(
            month=month,
            state=UsageReport.State.COLLECTED,
            tenant_id__in=subscriptions.filter(tenant__isnull=False).values("tenant_id"),
        ).values_list("tenant_id", "metrics")
    )
    return {
        organization_id: statement_lines_build(school_subscriptions, usage, month)
        for organization_id, school_subscriptions in by_school.items()
    }


class _NewLine(NamedTuple):
    """A statement line as ``rows_insert`` writes it (a LineDraft of one statement)."""

    statement_id: int
    subscription_id: int | None
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


def _statements_write(*, month: date, drafts: Mapping[int, list[LineDraft]]) -> dict[int, int]:
    """Create or replace the statements of the schools in ``drafts`` (school pk → its lines).

    Runs in the caller's transaction with a fixed number of queries: the missing statements
    are inserted, every one of them is locked, their lines are replaced and their totals set. A
    school without lines and without a statement gets none. Returns school pk → statement pk.
    """
    Statement.objects.bulk_create(
        [
            Statement(organization_id=organization_id, month=month, currency=CURRENCY)
            for organization_id, lines in drafts.items()
            if lines
        ],
        ignore_conflicts=True,  # one that exists is replaced below, under its lock
        batch_size=STATEMENT_BATCH,
    )
    statements = dict(
        Statement.objects.select_for_update()
        .filter(month=month, organization_id__in=list(drafts))
        .order_by("pk")
        .values_list("organization_id", "pk")
    )
    if not statements:
        return {}
    StatementLine.objects.filter(statement_id__in=list(statements.values())).delete()
    rows_insert(
        model=StatementLine,
        objects=[
            _NewLine(statement_id, *draft)
            for organization_id, statement_id in statements.items()
            for draft in drafts[organization_id]
        ],
        fields=_NewLine._fields,
        batch_size=LINE_BATCH,
    )
    now = timezone.now()  # the statements' last write: their lines are in
    rows_update(
        model=Statement,
        objects=[
            Statement(
                pk=statement_id,
                total=sum((draft.amount for draft in drafts[organization_id]), Decimal(0)),
                currency=CURRENCY,
                updated_at=now,
            )
            for organization_id, statement_id in statements.items()
        ],
        fields=["total", "currency", "updated_at"],
    )
    return statements


def statements_generate(*, organization_ids: Sequence[int], month: date) -> dict[int, int]:
    """Create or replace these schools' statements for ``month`` in one transaction.

    Returns school pk → statement pk for the schools that have one afterwards (a school with
    nothing to bill and no statement gets none). The number of queries does not grow with the
    number of schools.
    """
    month = month.replace(day=1)
    with transaction.atomic():
        drafts = _month_drafts(organization_ids=organization_ids, month=month)
        written = _statements_write(month=month, drafts=drafts)
        event_record_many(type="statement.issued", actor="billing", items=[{"statement": s} for s in Statement.objects.filter(pk__in=written.values())])  # fmt: skip
        return written


def statement_generate(*, organization_id: int, month: date) -> Statement | None:
    """Create or replace a school's statement for ``month``; None if there is nothing to bill.

    Deterministic: the same subscriptions and reports always give the same lines and total.
    """
    month = month.replace(day=1)
    statement_id = statements_generate(organization_ids=[organization_id], month=month).get(
        organization_id
    )
    return None if statement_id is None else Statement.objects.get(pk=statement_id)


def statements_generate_month(*, month: date) -> int:
    """Generate every school's statement for ``month``; return how many exist afterwards.

    Schools go in chunks of ``SCHOOLS_PER_TRANSACTION``, each chunk read and written in bulk in
    one transaction (a fixed number of queries per chunk, not per school).
    """
    month = month.replace(day=1)
    organization_ids = list(
        Subscription.objects.filter(starts_on__lt=next_month(month), ends_on__gt=month)
        .values_list("organization_id", flat=True)
        .distinct()
        .order_by("organization_id")
    )
    count = 0
    for start in range(0, len(organization_ids), SCHOOLS_PER_TRANSACTION):
        chunk = organization_ids[start : start + SCHOOLS_PER_TRANSACTION]
        count += len(statements_generate(organization_ids=chunk, month=month))
    return count


# --- CSV ---------------------------------------------------------------------------------------

CSV_HEADER = [
    "month",
    "school",
    "kind",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "currency",
]
# Vendor-chosen names end up in cells: market.lib.text makes them text, not formulas.
_cell = spreadsheet_cell


def plain_decimal(number: Decimal) -> str:
    """Without trailing zeros or exponent: 15.0000 → "15", 5E+4 → "50000"."""
    return format(number.normalize(), "f")


def statement_csv(statement: Statement) -> str:
    """The statement as CSV text: one row per line and a total row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    month = f"{statement.month:%Y-%m}"
    school = _cell(statement.organization.name)
    for line in statement.lines.order_by("id"):
        writer.writerow(
            [
                month,
                school,
                line.kind,
                _cell(line.description),
                plain_decimal(line.quantity),
                plain_decimal(line.unit_price),
                plain_decimal(line.amount),
                statement.currency,
            ]
        )
    writer.writerow(
        [month, school, "total", "", "", "", plain_decimal(statement.total), statement.currency]
    )
    return buffer.getvalue()
