"""Monthly statements: each school's plans prorated by the days they were active, plus usage.

Rules (amounts in whole KRW, ``ROUND_HALF_UP``):

- A subscription is active from ``starts_on`` up to, not including, ``ends_on``; one ended early
  (``ended_at``) is active through the local day it ended. A cancelled subscription that never
  recorded an end is not billed.
- Only delivered days are billed: the local days on which the tenant's state log
  (``TenantStateChange``) shows it active or updating; a tenant that never became active gets
  no line. Prices are those accepted: the subscription's snapshot, then each applied
  ``PlanChange``'s from the local day it took effect (docs/billing.md).
- Plan line: ``price × billed days / days in the month`` (a yearly plan's price is divided by
  12 first), one per price in force. Quantity is the days, unit price the price of one day.
- Usage lines: for each tenant, the month's *collected* usage report times the unit prices
  accepted (metric → price) in force on the last billed day. The plan is that of the tenant's latest
  subscription in the month, so a plan change never bills usage twice. Rejected, failed or
  pending reports never enter a bill; the statement page lists them.
- Overage lines: usage over the subscription's limits (``active_users`` over ``max_users``,
  ``storage_gb`` over ``storage_limit_gb``) times the plan's ``overage_prices`` as accepted;
  without one it is flagged (``usage_over_limits``), not billed.
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
from django.utils.translation import gettext as _

from events.services import event_record_many
from market.errors import DomainError
from market.lib.months import days_in_month, month_bounds, month_out_of_range, next_month
from market.lib.text import spreadsheet_cell
from monitoring.bulk import rows_insert, rows_update
from monitoring.models import Statement, StatementLine, UsageReport
from services.models import Plan, Service
from tenants.models import PlanChange, Subscription, Tenant, TenantStateChange

logger = logging.getLogger(__name__)

WON = Decimal(1)
QUANTITY_STEP = Decimal("0.0001")
CURRENCY = "KRW"
# A month's run reads and writes this many schools' statements per transaction.
SCHOOLS_PER_TRANSACTION = 1000
STATEMENT_BATCH = 1000
LINE_BATCH = 5000


class Terms(NamedTuple):
    """The prices a subscription is billed at from ``since`` on (None: from its start)."""

    since: date | None
    plan: Plan
    price: Decimal
    billing_period: str
    unit_prices: dict
    overage_prices: dict = {}  # noqa: RUF012 - a NamedTuple default, never mutated


class BilledSubscription(NamedTuple):
    """What a bill needs of a subscription: one row of the month's query, and what it read.

    ``terms`` are the prices accepted at subscribing, then one per plan change applied, in
    order; ``delivered`` the local days of the month on which its tenant was active.
    """

    pk: int
    tenant_id: int | None
    status: str
    starts_on: date
    ends_on: date
    ended_at: datetime | None
    price: Decimal
    billing_period: str
    unit_prices: dict
    overage_prices: dict
    max_users: int
    storage_limit_gb: int
    service: Service
    plan: Plan
    terms: tuple[Terms, ...] = ()
    delivered: frozenset[date] = frozenset()


_SUBSCRIPTION_COLUMNS = BilledSubscription._fields[:12]  # the columns read from the row

# The tenant states in which the school has the service; a day in one of them is billed.
DELIVERED_STATES = frozenset({Tenant.State.ACTIVE, Tenant.State.UPDATING})


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


def delivered_days(
    changes: Sequence[tuple[str, datetime]], month: date, *, until: datetime | None = None
) -> frozenset[date]:
    """The local days of ``month`` on which a tenant was, at some moment, in a delivered state.

    ``changes`` are the tenant's state changes (state, at) in time order; the last state lasts
    until ``until`` (default: for ever). A day counts if any delivered moment falls in it, so a
    tenant activated at 15:00 is billed for that day; one that left at exactly midnight is not
    billed for the day that starts then.
    """
    start, end = month_bounds(month)
    if until is not None:
        end = min(end, until)
    days: set[date] = set()
    for index, (state, at) in enumerate(changes):
        following = changes[index + 1][1] if index + 1 < len(changes) else end
        low, high = max(at, start), min(following, end)
        if state not in DELIVERED_STATES or high <= low:
            continue
        day = timezone.localdate(low)
        last = timezone.localdate(high - timedelta(microseconds=1))
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return frozenset(days)


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


def _terms_on(subscription: BilledSubscription, day: date) -> Terms:
    chosen = subscription.terms[0]
    for terms in subscription.terms[1:]:
        if terms.since is not None and terms.since <= day:
            chosen = terms
    return chosen


def billed_days(subscription: BilledSubscription, month: date) -> list[date]:
    """The days of ``month`` the subscription is billed for: in its span and delivered."""
    span = active_span(subscription, month)
    if span is None:
        return []
    first, end = span
    return sorted(day for day in subscription.delivered if first <= day < end)


def _plan_lines(subscription: BilledSubscription, month: date) -> list[LineDraft]:
    """One line per price the month's delivered days were billed at (two after a plan change)."""
    days = billed_days(subscription, month)
    month_days = days_in_month(month)
    by_terms: dict[int, list[date]] = {}
    for day in days:
        by_terms.setdefault(subscription.terms.index(_terms_on(subscription, day)), []).append(day)
    lines = []
    for index in sorted(by_terms):
        terms, segment = subscription.terms[index], by_terms[index]
        yearly = terms.billing_period == "yearly"
        per_day = Decimal(terms.price) / (month_days * (12 if yearly else 1))
        description = (
            f"{subscription.service.name} — {terms.plan.name} ({terms.plan.code}), "
            f"{segment[0]:%Y-%m-%d}–{segment[-1]:%Y-%m-%d}, {len(segment)}/{month_days} days"
        )
        lines.append(
            LineDraft(
                subscription_id=subscription.pk,
                kind=StatementLine.Kind.PLAN,
                description=description[:300],
                quantity=Decimal(len(segment)),
                unit_price=per_day.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP),
                amount=prorated_amount(
                    price=terms.price, days=len(segment), month_days=month_days, yearly=yearly
                ),
            )
        )
    return lines


def _decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _usage_lines(subscription: BilledSubscription, metrics: dict, month: date) -> list[LineDraft]:
    """The month's usage at the unit prices in force on its last billed day."""
    lines = []
    days = billed_days(subscription, month)
    terms = _terms_on(subscription, days[-1]) if days else subscription.terms[0]
    for metric, raw_price in sorted((terms.unit_prices or {}).items()):
        unit_price = _decimal(raw_price)
        quantity = _decimal((metrics or {}).get(metric))
        if unit_price is None or unit_price < 0:
            logger.warning("plan %s has an unusable unit price for %s", terms.plan, metric)
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
    for over in usage_over_limits(subscription=subscription, metrics=metrics):
        unit_price = _decimal((terms.overage_prices or {}).get(over.metric))
        if unit_price is None or unit_price <= 0:
            continue  # flagged to the school and staff, not billed
        quantity = (over.used - over.limit).quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP)
        lines.append(
            LineDraft(
                subscription_id=subscription.pk,
                kind=StatementLine.Kind.USAGE,
                description=(
                    f"{subscription.service.name} — {over.metric} over the limit "
                    f"({plain_decimal(over.used)} of {plain_decimal(over.limit)})"
                )[:300],
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
        lines = _plan_lines(subscription, month)
        if not lines:
            continue  # nothing delivered in the month: neither a plan line nor usage
        drafts.extend(lines)
        if subscription.tenant_id is not None:
            latest_by_tenant[subscription.tenant_id] = subscription  # ordered by starts_on
    reported = [tenant for tenant in latest_by_tenant if tenant in usage]
    for tenant in sorted(reported, key=lambda t: latest_by_tenant[t].service.name):
        drafts.extend(_usage_lines(latest_by_tenant[tenant], usage[tenant], month))
    return drafts


def billed_subscriptions(
    subscriptions, month: date, *, until: datetime | None = None
) -> dict[int, list[BilledSubscription]]:
    """The month's subscriptions of ``subscriptions`` (a queryset), by school, ready to bill.

    Six queries however many subscriptions: the rows, their services and plans, their
    tenants' state changes and their applied plan changes. ``until`` cuts the tenants' last
    state short (a preview of the month to date).
    """
    end = month_bounds(month)[1]
    ordered = subscriptions.order_by("organization_id", "service__name", "starts_on", "pk")
    # Each row: the school, service and plan, then BilledSubscription's own columns in order.
    rows = list(
        ordered.values_list("organization_id", "service_id", "plan_id", *_SUBSCRIPTION_COLUMNS)
    )
    tenant_ids = {row[4] for row in rows if row[4] is not None}
    changes: dict[int, list[tuple[str, datetime]]] = {}
    for tenant_id, state, at in (
        TenantStateChange.objects.filter(tenant_id__in=tenant_ids, at__lt=end)
        .order_by("tenant_id", "at", "pk")
        .values_list("tenant_id", "state", "at")
    ):
        changes.setdefault(tenant_id, []).append((state, at))
    plan_changes: dict[int, list[PlanChange]] = {}
    for change in PlanChange.objects.filter(
        subscription_id__in=[row[3] for row in rows],
        effective_at__isnull=False,
        effective_at__lt=end,
    ).order_by("effective_at", "pk"):
        plan_changes.setdefault(change.subscription_id, []).append(change)
    plan_ids = {row[2] for row in rows} | {
        pk
        for group in plan_changes.values()
        for c in group
        for pk in (c.from_plan_id, c.to_plan_id)
    }
    services = Service.objects.in_bulk({row[1] for row in rows})
    plans = Plan.objects.in_bulk(plan_ids)
    by_school: dict[int, list[BilledSubscription]] = {}
    for organization_id, service_id, plan_id, *fields in rows:
        pk, tenant_id = fields[0], fields[1]
        applied = plan_changes.get(pk, [])
        first_plan = plans[applied[0].from_plan_id] if applied else plans[plan_id]
        price, billing_period, unit_prices, overage = fields[6], fields[7], fields[8], fields[9]
        terms = [Terms(None, first_plan, price, billing_period, unit_prices or {}, overage or {})]
        terms += [
            Terms(
                timezone.localdate(c.effective_at),
                plans[c.to_plan_id],
                c.price,
                c.billing_period,
                c.unit_prices or {},
                c.overage_prices or {},
            )
            for c in applied
        ]
        by_school.setdefault(organization_id, []).append(
            BilledSubscription(
                *fields,
                service=services[service_id],
                plan=plans[plan_id],
                terms=tuple(terms),
                delivered=delivered_days(changes.get(tenant_id, []), month, until=until),
            )
        )
    return by_school


def _month_subscriptions(organization_ids: Sequence[int], month: date):
    return Subscription.objects.filter(
        organization_id__in=list(organization_ids),
        starts_on__lt=next_month(month),
        ends_on__gt=month,
    )


def _month_usage(subscriptions, month: date) -> dict[int, dict]:
    return dict(
        UsageReport.objects.filter(
            month=month,
            state=UsageReport.State.COLLECTED,
            tenant_id__in=subscriptions.filter(tenant__isnull=False).values("tenant_id"),
        ).values_list("tenant_id", "metrics")
    )


def _month_drafts(*, organization_ids: Sequence[int], month: date) -> dict[int, list[LineDraft]]:
    """Every listed school's lines for ``month``, read in a fixed number of queries.

    Rows are read as tuples: a month holds thousands of subscriptions and reports but few
    services and plans, which are loaded once each.
    """
    subscriptions = _month_subscriptions(organization_ids, month)
    by_school = billed_subscriptions(subscriptions, month)
    usage = _month_usage(subscriptions, month)
    return {
        organization_id: statement_lines_build(by_school.get(organization_id, []), usage, month)
        for organization_id in organization_ids
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


class BillingError(DomainError):
    """A statement request the market refuses; the message says which month to give."""

    slug = "billing-refused"

    def __init__(self, message: str):
        super().__init__(message, field="month")


def statements_issue_month(*, month: date, today: date | None = None) -> int:
    """Issue a closed month's statements on demand; return how many were issued now.

    Only the schools billed that month without a statement get one: an issued statement stays
    as it is, so running it twice issues nothing new. The current and future months are not
    closed and are refused, as are months before 2000-01.
    """
    today = today or timezone.localdate()
    month = month.replace(day=1)
    reason = month_out_of_range(month, today=today)
    if reason is None and month >= today.replace(day=1):
        reason = _("%(month)s is not over yet: issue it from %(next)s on.") % {
            "month": f"{month:%Y-%m}",
            "next": f"{next_month(month):%Y-%m}-01",
        }
    if reason:
        raise BillingError(reason)
    organization_ids = list(
        Subscription.objects.filter(starts_on__lt=next_month(month), ends_on__gt=month)
        .exclude(organization__statements__month=month)
        .values_list("organization_id", flat=True)
        .distinct()
        .order_by("organization_id")
    )
    issued = 0
    for start in range(0, len(organization_ids), SCHOOLS_PER_TRANSACTION):
        chunk = organization_ids[start : start + SCHOOLS_PER_TRANSACTION]
        issued += len(statements_generate(organization_ids=chunk, month=month))
    return issued


# --- previews and quotes -----------------------------------------------------------------------


class OverLimit(NamedTuple):
    """A usage metric over the subscription's limit: 187 users of 100, 48.8 GB of 10 GB."""

    subscription_id: int
    service_name: str
    metric: str
    used: Decimal
    limit: Decimal


# Usage metric → the subscription's limit it is measured against.
LIMITED_METRICS = {"active_users": "max_users", "storage_gb": "storage_limit_gb"}


def usage_over_limits(*, subscription, metrics: Mapping) -> list[OverLimit]:
    """The metrics of a usage report that exceed the subscription's limits, if any."""
    over = []
    for metric, limit_field in LIMITED_METRICS.items():
        used = _decimal((metrics or {}).get(metric))
        limit = getattr(subscription, limit_field, None)
        if used is not None and limit is not None and used > limit:
            over.append(
                OverLimit(subscription.pk, subscription.service.name, metric, used, Decimal(limit))
            )
    return over


class StatementPreview(NamedTuple):
    """The month so far and where it is heading, before the statement is issued.

    ``lines`` bill the days delivered up to now; ``estimate_lines`` the whole month if every
    tenant stays as it is now (usage is billed when the vendor reports it, after the month).
    """

    month: date
    lines: list[LineDraft]
    total: Decimal
    estimate_lines: list[LineDraft]
    estimate_total: Decimal
    over_limits: list[OverLimit]


def statement_preview(*, organization_id: int, now: datetime | None = None) -> StatementPreview:
    """The school's upcoming statement: month to date, and an estimate for the whole month."""
    now = now or timezone.now()
    month = timezone.localdate(now).replace(day=1)
    subscriptions = _month_subscriptions([organization_id], month)
    so_far = billed_subscriptions(subscriptions, month, until=now).get(organization_id, [])
    whole = billed_subscriptions(subscriptions, month).get(organization_id, [])
    lines = statement_lines_build(so_far, {}, month)
    estimate = statement_lines_build(whole, {}, month)
    return StatementPreview(
        month=month,
        lines=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
        estimate_lines=estimate,
        estimate_total=sum((line.amount for line in estimate), Decimal(0)),
        over_limits=latest_over_limits(organization_id=organization_id),
    )


def latest_over_limits(*, organization_id: int) -> list[OverLimit]:
    """What the school's latest collected usage reports show over its live limits (2 queries)."""
    subscriptions = {
        s.tenant_id: s
        for s in Subscription.objects.filter(
            organization_id=organization_id, status__in=Subscription.LIVE_STATUSES
        )
        .exclude(tenant=None)
        .select_related("service")
    }
    latest: dict[int, dict] = {}
    for tenant_id, metrics in (
        UsageReport.objects.filter(
            tenant_id__in=list(subscriptions), state=UsageReport.State.COLLECTED
        )
        .order_by("tenant_id", "-month")
        .values_list("tenant_id", "metrics")
    ):
        latest.setdefault(tenant_id, metrics)
    return [
        over
        for tenant_id, metrics in latest.items()
        for over in usage_over_limits(subscription=subscriptions[tenant_id], metrics=metrics)
    ]


class Quote(NamedTuple):
    """What a change costs, shown before the school confirms it (whole KRW)."""

    first: date  # the first day the quote covers
    last: date  # its last day
    current: Decimal  # what those days cost as things are
    new: Decimal  # what they cost after the change
    difference: Decimal  # new - current (what the school pays more, or less if negative)


def _period_cost(*, price: Decimal, billing_period: str, first: date, end: date) -> Decimal:
    """A plan's price over [first, end), prorated month by month like a statement."""
    total = Decimal(0)
    month = first.replace(day=1)
    while month < end:
        low, high = max(first, month), min(end, next_month(month))
        if high > low:
            total += prorated_amount(
                price=price,
                days=(high - low).days,
                month_days=days_in_month(month),
                yearly=billing_period == "yearly",
            )
        month = next_month(month)
    return total


def _agreed_terms(subscription: Subscription):
    """The prices the school accepted last: its latest applied plan change, or the snapshot."""
    change = (
        subscription.plan_changes.filter(effective_at__isnull=False)
        .order_by("-effective_at", "-pk")
        .first()
    )
    return change or subscription


def plan_change_quotes(
    *, subscription: Subscription, plans: Sequence[Plan], today: date | None = None
) -> dict[int, Quote]:
    """The rest of this month on each of ``plans`` against the current one, prorated by day.

    The current side is the price the school accepted (the latest applied plan change, or the
    subscription's snapshot); the new side is each plan's price now, which a change snapshots.
    Plan pk → quote; one query however many plans.
    """
    today = today or timezone.localdate()
    end = min(next_month(today.replace(day=1)), subscription.ends_on)
    terms = _agreed_terms(subscription)
    current = _period_cost(
        price=terms.price, billing_period=terms.billing_period, first=today, end=end
    )
    last = max(today, end - timedelta(days=1))
    quotes = {}
    for plan in plans:
        new = _period_cost(
            price=plan.price, billing_period=plan.billing_period, first=today, end=end
        )
        quotes[plan.pk] = Quote(today, last, current, new, new - current)
    return quotes


def plan_change_quote(
    *, subscription: Subscription, plan: Plan, today: date | None = None
) -> Quote:
    """One plan's quote (see ``plan_change_quotes``)."""
    return plan_change_quotes(subscription=subscription, plans=[plan], today=today)[plan.pk]


def renewal_quote(*, subscription: Subscription, ends_on: date, today: date | None = None) -> Quote:
    """What the extension from the current end to ``ends_on`` costs at the agreed price."""
    today = today or timezone.localdate()
    first = max(subscription.ends_on, today)
    live = subscription.is_live
    price = subscription.price if live else subscription.plan.price
    period = subscription.billing_period if live else subscription.plan.billing_period
    new = _period_cost(price=price, billing_period=period, first=first, end=ends_on)
    return Quote(first, ends_on - timedelta(days=1), Decimal(0), new, new)


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
