"""E-mails of the lifecycle, in each recipient's language (Korean by default).

Each function writes the messages to the outbox (`mailer`): call it inside the transaction of
the change it announces; a worker sends them after commit, with retries.
"""

from django.conf import settings

from mailer.services import mail_render_queue
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


def send_staff_attention_alert(operation) -> int:
    return _send(
        "operation_attention",
        recipients={"en": list(settings.MARKET_STAFF_ALERT_EMAILS)},
        context={"operation": operation, "market_base_url": settings.MARKET_BASE_URL},
    )
