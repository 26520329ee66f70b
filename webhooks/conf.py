"""Webhook delivery limits, read from settings (market/settings.py reads the environment)."""

from django.conf import settings

# Standard Webhooks' suggested schedule, stretched to 3 days: immediately, then after
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 20 h (71 h 35 min in all).
DEFAULT_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000)


def retry_schedule() -> tuple[int, ...]:
    return tuple(getattr(settings, "WEBHOOK_RETRY_SCHEDULE_SECONDS", DEFAULT_RETRY_SCHEDULE))


def connect_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_CONNECT_TIMEOUT", 3.0))


def total_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_TOTAL_TIMEOUT", 10.0))


def max_response_bytes() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_RESPONSE_BYTES", 16 * 1024))


def disable_after_failures() -> int:
    return int(getattr(settings, "WEBHOOK_DISABLE_AFTER_FAILURES", 30))


def max_in_flight_per_endpoint() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", 2))


def secret_overlap_hours() -> int:
    return int(getattr(settings, "WEBHOOK_SECRET_OVERLAP_HOURS", 24))


def http_allowed(host: str) -> bool:
    """Plain http only to the development hosts staff listed (the same list as for vendors)."""
    return host.lower() in {h.lower() for h in getattr(settings, "VENDOR_HTTP_ALLOWED_HOSTS", [])}
