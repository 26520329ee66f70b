"""The subscription calendar beat starts: notices before the end, expiry on it, purge after.

It reads what is due and calls one service function per row for every write.
"""

from django.utils import timezone

from market.models import MarketPolicy
from tenants.models import Subscription, Tenant
from tenants.operations import services

S = Tenant.State


def send_expiry_notices(*, today=None) -> int:
    """Warn schools N days before the end (policy), once per subscription even if run twice."""
    today = today or timezone.localdate()
    days = MarketPolicy.load().expiry_notice_days
    candidates = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE,
        expiry_notice_sent_at__isnull=True,
        ends_on__gt=today,
        ends_on__lte=today + timezone.timedelta(days=days),
    ).select_related("organization", "service", "plan")
    sent = 0
    for subscription in candidates:
        if services.subscription_send_expiry_notice(subscription=subscription):
            sent += 1
    return sent


def expire_subscriptions(*, today=None) -> int:
    """On the end date, end each live subscription and deactivate its tenant, data kept."""
    today = today or timezone.localdate()
    ended = Subscription.objects.filter(status=Subscription.Status.ACTIVE, ends_on__lte=today)
    count = 0
    for subscription in ended:
        services.subscription_expire(subscription=subscription)
        count += 1
    return count


def purge_past_deadline(*, now=None) -> int:
    """Tenants whose data-retention deadline passed, with no live subscription, are purged."""
    now = now or timezone.now()
    due = Tenant.objects.filter(state=S.DEACTIVATED, reactivation_deadline__lt=now).exclude(
        subscriptions__status__in=Subscription.LIVE_STATUSES
    )
    count = 0
    for tenant in due.select_related("service"):
        services.tenant_purge(tenant=tenant)
        count += 1
    return count


def process_subscription_dates(*, today=None, now=None) -> dict[str, int]:
    return {
        "notices": send_expiry_notices(today=today),
        "expired": expire_subscriptions(today=today),
        "purged": purge_past_deadline(now=now),
    }
