"""Template filters of the monitoring pages."""

from decimal import Decimal

from django import template

from monitoring.billing import plain_decimal

register = template.Library()


@register.filter
def plain_number(value):
    """A Decimal without trailing zeros or exponent: 15.0000 → 15, 50000 → 50000, 0.0100 → 0.01."""
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return value
