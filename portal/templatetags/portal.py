"""Small template helpers shared by every portal page: icons, badges, numbers."""

from decimal import Decimal

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from services import labels
from tenants.display import display_state, tenant_display_state
from tenants.models import Operation, Tenant

register = template.Library()

ICONS = frozenset(
    {
        "alert",
        "arrow-right",
        "check",
        "clock",
        "external",
        "key",
        "minus",
        "refresh",
        "search",
        "server",
        "storage",
        "users",
    }
)


@register.simple_tag
def icon(name: str, label: str = ""):
    """An icon from static/icons/sprite.svg; decorative unless a label is given."""
    if name not in ICONS:
        raise template.TemplateSyntaxError(f"unknown icon {name!r}")
    href = f"{static('icons/sprite.svg')}#{name}"
    if label:
        return format_html(
            '<svg class="icon" role="img" aria-label="{}" focusable="false"><use href="{}"></use></svg>',
            label,
            href,
        )
    return format_html(
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="{}"></use></svg>', href
    )


@register.inclusion_tag("partials/state_badge.html")
def state_badge(obj, field: str = "state"):
    """A coloured badge with the state's label in words (colour is never the only signal)."""
    value = getattr(obj, field, "")
    display = getattr(obj, f"get_{field}_display", None)
    return {"value": value, "label": display() if display else value}


@register.inclusion_tag("partials/display_badge.html")
def display_badge(subscription):
    """The subscription's one displayed state (tenants.display) as a badge."""
    return {"display": display_state(subscription)}


@register.inclusion_tag("partials/display_badge.html")
def tenant_display_badge(tenant):
    """A tenant's displayed state (that of its newest subscription) as a badge."""
    return {"display": tenant_display_state(tenant)}


@register.inclusion_tag("partials/health_badge.html")
def health_badge(service):
    return {"service": service}


@register.filter
def compact_number(value) -> str:
    """1234 -> 1.2k, 3400000 -> 3.4M: short labels for charts and stats."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}".rstrip("0").rstrip(".") + suffix
    if number == int(number):
        return str(int(number))
    return f"{number:.2f}".rstrip("0").rstrip(".")


@register.filter
def get_item(mapping, key):
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.simple_tag
def metric_label(name: str) -> str:
    labels = {
        "api_calls": _("API calls"),
        "ai_tokens": _("AI tokens"),
        "storage_gb": _("Storage (GB)"),
        "active_users": _("Active users"),
    }
    return labels.get(name, name.replace("_", " "))


@register.simple_tag(takes_context=True)
def nav_link(context, target: str, label: str, match: str = ""):
    """A header link marked aria-current when the page is under it.

    `target` is a URL name or, for pages other parts of the market serve, a literal path.
    `match` is a path prefix that also counts as "here" (e.g. "/school/catalog/").
    """
    if target.startswith("/"):
        url = target
    else:
        try:
            url = reverse(target)
        except NoReverseMatch:
            return ""
    request = context.get("request")
    path = request.path if request is not None else ""
    here = path == url or bool(match and path.startswith(match))
    return format_html(
        '<a href="{}"{}>{}</a>', url, mark_safe(' aria-current="page"') if here else "", label
    )


@register.filter
def tenant_state_label(value: str) -> str:
    try:
        return Tenant.State(value).label
    except ValueError:
        return value


@register.filter
def operation_state_label(value: str) -> str:
    try:
        return Operation.State(value).label
    except ValueError:
        return value


@register.simple_tag
def unit_price(price, metric: str, currency: str = "KRW") -> str:
    """A usage price with its unit: `AI token당 4원` / `4 KRW per AI token`."""
    amount = f"{Decimal(str(price)).normalize():,f}"
    return _("%(amount)s %(currency)s per %(unit)s") % {
        "amount": amount,
        "currency": currency,
        "unit": labels.metric_unit(metric),
    }
