"""E-mails of the lifecycle, in each recipient's language (Korean by default).

Each function writes the messages to the outbox (`mailer`): call it inside the transaction of
the change it announces; a worker sends them after commit, with retries.
"""

from django.conf import settings
from django.urls import reverse

from mailer.services import mail_render_queue
from tenants.display import Display, display_state
from tenants.models import Organization, Subscription


def _school_recipients(organization: Organization) -> dict[str, list[str]]:
    """Language → addresses of the school's admins (or its contact address)."""
    by_language: dict[str, list[str]] = {}
    for admin in organization.admins.filter(is_active=True).exclude(email=""):
        by_language.setdefault(admin.preferred_language or "ko", []).append(admin.email)
    if not by_language:
        by_language["ko"] = [organization.contact_email]
    return by_language


def _send(template: str, *, recipients: dict[str, list[str]], context: dict) -> int:
    """Queue one message per language; return how many were queued."""
    for language, addresses in recipients.items():
        mail_render_queue(
            kind=template,
            template=f"emails/tenants/{template}",
            context=context,
            to=addresses,
            language=language,
        )
    return len(recipients)


def send_expiry_notice(subscription: Subscription) -> int:
    return _send(
        "expiry_notice",
        recipients=_school_recipients(subscription.organization),
        context={"subscription": subscription, "market_base_url": settings.MARKET_BASE_URL},
    )


def send_renewal_notice(subscription: Subscription) -> int:
    return _send(
        "renewal_notice",
        recipients=_school_recipients(subscription.organization),
        context={"subscription": subscription, "market_base_url": settings.MARKET_BASE_URL},
    )


def send_service_ready(subscription: Subscription) -> int:
    """Tell the school its service is active: the access URL, never the password.

    Goes to the service admin named on the subscription and the school's portal admins, each in
    their language. This is the lifecycle's one "service is ready" message, queued in the outbox
    like every other.
    """
    recipients = _school_recipients(subscription.organization)
    known = {address.casefold() for addresses in recipients.values() for address in addresses}
    if subscription.admin_email and subscription.admin_email.casefold() not in known:
        recipients.setdefault("ko", []).append(subscription.admin_email)
    tenant = subscription.tenant
    if display_state(subscription).code != Display.ACTIVE:
        return 0  # changed again before the e-mail went out (cancelled, failed): say nothing
    path = reverse("school-subscription", args=[subscription.pk])
    return _send(
        "service_ready",
        recipients=recipients,
        context={
            "subscription": subscription,
            # A callable: the template calls it inside each recipient's language.
            "display": lambda: display_state(subscription),
            "access_url": tenant.access_url if tenant else "",
            "has_temp_password": bool(tenant and tenant.temp_password),
            "subscription_url": f"{settings.MARKET_BASE_URL.rstrip('/')}{path}",
        },
    )


def send_staff_attention_alert(operation) -> int:
    return _send(
        "operation_attention",
        recipients={"en": list(settings.MARKET_STAFF_ALERT_EMAILS)},
        context={"operation": operation, "market_base_url": settings.MARKET_BASE_URL},
    )
