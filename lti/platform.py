"""The platform's own identity: its issuer and the absolute URLs of its endpoints."""

from django.conf import settings
from django.urls import reverse


def issuer() -> str:
    """The platform's issuer identifier (``iss``): the market's base URL without a slash."""
    return str(settings.MARKET_BASE_URL).rstrip("/")


def absolute(view_name: str) -> str:
    """The absolute URL of one of the platform's views, on the issuer's origin."""
    return issuer() + reverse(view_name)
