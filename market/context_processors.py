"""Template context shared by every portal page."""

from django.conf import settings


def portal(request):
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    return {
        "portal_role": role,
        "market_base_url": settings.MARKET_BASE_URL,
        "support_email": support_email(),
    }


def support_email() -> str:
    """Where schools write for help: the staff's first alert address (they already watch it)."""
    return next(iter(settings.MARKET_STAFF_ALERT_EMAILS), settings.DEFAULT_FROM_EMAIL)
