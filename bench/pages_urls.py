"""The market's URLs plus one bare view, for the pages benchmark only (never deployed).

``/bench/bare/subscriptions``: the first page of the API's subscription list (the same 50 rows
in the same order, with the same fields) from a plain Django view and ``JsonResponse``: no DRF,
no authentication, no pagination count. The benchmark sets ``ROOT_URLCONF`` to this module.
"""

from django.http import JsonResponse
from django.urls import path

from market.api.pagination import DEFAULT_PAGE_SIZE
from market.urls import urlpatterns as market_urlpatterns
from tenants.display import display_state, with_last_operation
from tenants.models import Subscription


def _display(row) -> tuple[str, dict]:
    state = display_state(row)
    return state.code, {
        "code": state.code,
        "label": state.label,
        "explanation": state.explanation,
        "detail": state.detail,
        "next_step": state.next_step,
        "can_retry": state.can_retry,
    }


def bare_subscriptions(request):
    rows = with_last_operation(
        Subscription.objects.select_related("organization", "service", "plan", "tenant")
    ).order_by("-created_at", "-id")[:DEFAULT_PAGE_SIZE]
    results = [
        {
            "id": row.pk,
            "organization": row.organization.slug,
            "service": row.service.service_id,
            "plan": row.plan.code,
            "status": row.status,
            "starts_on": row.starts_on,
            "ends_on": row.ends_on,
            "max_users": row.max_users,
            "storage_limit_gb": row.storage_limit_gb,
            "admin_email": row.admin_email,
            "admin_name": row.admin_name,
            "tenant": None
            if row.tenant is None
            else {
                "id": row.tenant.pk,
                "tenant_id": row.tenant.tenant_id,
                "state": row.tenant.state,
                "access_url": row.tenant.access_url,
            },
            "created_at": row.created_at,
            "ended_at": row.ended_at,
            "display_state": code,
            "display": display,
        }
        for row in rows
        for code, display in [_display(row)]
    ]
    return JsonResponse({"results": results})


urlpatterns = [
    path("bench/bare/subscriptions", bare_subscriptions, name="bench-bare-subscriptions"),
    *market_urlpatterns,
]
