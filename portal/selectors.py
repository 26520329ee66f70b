"""Market-wide reads for the dashboards: counts across every app."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from mailer.models import OutgoingMail
from monitoring.models import Incident
from services.models import Service, Vendor
from tenants.attention import LIMIT, LifecycleAttention, Rows, lifecycle_attention
from tenants.models import Organization, Subscription, Tenant

MAIL_LATE_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class NeedsPerson:
    """Everything a staff member should act on now; each list's count is its full count."""

    lifecycle: LifecycleAttention
    open_incidents: Rows
    noncompliant_services: Rows
    undelivered_mail: Rows

    @property
    def total(self) -> int:
        mail = self.undelivered_mail.count
        return (
            self.lifecycle.total
            + self.open_incidents.count
            + self.noncompliant_services.count
            + mail
        )


@dataclass(frozen=True)
class MarketOverview:
    schools: int
    vendors: int
    services_listed: int
    tenants_by_state: dict[str, int]
    needs_person: NeedsPerson
    subscriptions_expiring: list


def _rows(queryset, limit: int = LIMIT) -> Rows:
    rows = list(queryset[:limit])
    count = len(rows) if len(rows) < limit else queryset.count()
    return Rows(rows, count)


def undelivered_mail(*, now=None, limit: int = LIMIT) -> Rows:
    """Mail the outbox gave up on, or still pending an hour after it was written."""
    now = now or timezone.now()
    failed = OutgoingMail.objects.filter(state=OutgoingMail.State.FAILED)
    late = OutgoingMail.objects.filter(
        state=OutgoingMail.State.PENDING, created_at__lt=now - MAIL_LATE_AFTER
    )
    return _rows((failed | late).order_by("-created_at", "-pk"), limit)


def needs_person(*, now=None) -> NeedsPerson:
    now = now or timezone.now()
    return NeedsPerson(
        lifecycle=lifecycle_attention(now=now),
        open_incidents=_rows(
            Incident.objects.filter(closed_at__isnull=True)
            .select_related("service")
            .order_by("-opened_at")
        ),
        noncompliant_services=_rows(
            Service.objects.filter(usage_noncompliant_since__isnull=False)
            .select_related("vendor")
            .order_by("usage_noncompliant_since")
        ),
        undelivered_mail=undelivered_mail(now=now),
    )


def market_overview(*, today=None) -> MarketOverview:
    today = today or timezone.localdate()
    states = dict(Tenant.objects.values_list("state").annotate(n=Count("id")).order_by())
    return MarketOverview(
        schools=Organization.objects.count(),
        vendors=Vendor.objects.count(),
        services_listed=Service.objects.filter(status=Service.Status.LISTED).count(),
        tenants_by_state=states,
        needs_person=needs_person(),
        subscriptions_expiring=list(
            Subscription.objects.filter(
                status=Subscription.Status.ACTIVE,
                ends_on__gte=today,
                ends_on__lte=today + timedelta(days=7),
            ).select_related("organization", "service", "plan")[:100]
        ),
    )
