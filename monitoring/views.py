"""Monitoring pages: status, staff dashboard, a service's history, statements, metrics."""

from __future__ import annotations

import hmac
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from market.lib.months import month_parse
from market.permissions import staff_required
from monitoring import billing, selectors, usage
from monitoring.metrics import CONTENT_TYPE, metrics_text
from monitoring.models import UsageReport
from services.models import Service

PORTAL_ROLES = ("staff", "vendor", "school")
STATUS_PAGE_SIZE = 25
OPEN_INCIDENTS_SHOWN = 100


def portal_user_required(view):
    """Any signed-in market staff, vendor user or school admin."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.role not in PORTAL_ROLES:
            raise PermissionDenied("This page is for schools, vendors and market staff.")
        return view(request, *args, **kwargs)

    return wrapper


def _may_see_details(user, service: Service) -> bool:
    """Failure reasons are the vendor's technical detail: staff and the vendor itself see them."""
    return user.is_staff or (user.vendor_id is not None and user.vendor_id == service.vendor_id)


@require_GET
@portal_user_required
def status(request):
    page = Paginator(selectors.status_services(), STATUS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    services = list(page.object_list)
    strips = selectors.uptime_strips(service_ids=[s.pk for s in services])
    # Listed in full up to a cap: a market-wide outage must not make the page unusable.
    open_total = selectors.open_incidents().count()
    open_incidents = list(selectors.open_incidents().order_by("-opened_at")[:OPEN_INCIDENTS_SHOWN])
    open_by_service = {
        incident.service_id: incident
        for incident in selectors.open_incidents().filter(service__in=services)
    }
    rows = [
        {
            "service": service,
            "strip": strips[service.pk],
            "incident": open_by_service.get(service.pk),
            "details": _may_see_details(request.user, service),
        }
        for service in services
    ]
    past = list(selectors.past_incidents().order_by("-closed_at")[:30])
    own = []
    if request.user.vendor_id:
        own = list(selectors.vendor_services(vendor_id=request.user.vendor_id))
    context = {
        "page": page,
        "rows": rows,
        "open_incidents": [
            (incident, _may_see_details(request.user, incident.service))
            for incident in open_incidents
        ],
        "past_incidents": [
            (incident, _may_see_details(request.user, incident.service)) for incident in past
        ],
        "own_services": own,
        "open_hidden": max(0, open_total - len(open_incidents)),
    }
    return render(request, "monitoring/status.html", context)


@require_GET
@portal_user_required
def service_history(request, service_id: str):
    service = selectors.service_for_history(user=request.user, service_id=service_id)
    context = {
        "service": service,
        "strip": selectors.uptime_strips(service_ids=[service.pk])[service.pk],
        "rollups": list(selectors.hourly_rollups(service=service)),
        "incidents": selectors.service_incidents(service=service),
        "usage_reports": selectors.service_usage_reports(service=service),
    }
    return render(request, "monitoring/service_history.html", context)


@require_GET
@staff_required
def dashboard(request):
    return render(request, "monitoring/dashboard.html", {"board": selectors.dashboard()})


@require_POST
@staff_required
def usage_collect(request, report_id: int):
    """Staff: ask the vendor again for one tenant's usage of one month."""
    report = get_object_or_404(UsageReport, pk=report_id)
    report = usage.usage_collect_for_tenant(
        tenant_id=report.tenant_id, month=report.month, force=True
    )
    if report.state == UsageReport.State.COLLECTED:
        messages.success(request, _("Usage collected."))
    else:
        messages.error(
            request,
            _("Usage could not be collected: %(reason)s")
            % {"reason": report.error or report.state},
        )
    return redirect("monitoring:dashboard")


def _statement_user_required(view):
    """Statements belong to schools; staff see them all."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.user.role not in ("staff", "school"):
            raise PermissionDenied("Statements are shown to school admins and market staff.")
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@_statement_user_required
def statement_list(request):
    statements = selectors.statements_visible_to(request.user)
    month_text = request.GET.get("month", "")
    month = None
    if month_text:
        try:
            month = month_parse(month_text)
        except ValueError:
            messages.error(request, _("Give the month as YYYY-MM."))
        else:
            statements = statements.filter(month=month)
    page = Paginator(statements.order_by("-month", "organization__name"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "monitoring/statement_list.html",
        {"page": page, "month": month_text if month else ""},
    )


@require_GET
@_statement_user_required
def statement_preview(request):
    """The upcoming statement: the month to date and an estimate (a school's own; staff pick)."""
    schools = None
    if request.user.is_staff:
        schools = selectors.schools_billed()
        try:
            organization_id = int(request.GET.get("school") or (schools[0][0] if schools else 0))
        except ValueError:
            organization_id = 0
    else:
        organization_id = getattr(request.user, "organization_id", None) or 0
    preview = (
        billing.statement_preview(organization_id=organization_id) if organization_id else None
    )
    return render(
        request,
        "monitoring/statement_preview.html",
        {"preview": preview, "schools": schools, "school_id": organization_id},
    )


@require_POST
@staff_required
def statements_issue(request):
    """Staff: issue a closed month's statements now (those not issued yet)."""
    try:
        issued = billing.statements_issue_month(month=month_parse(request.POST.get("month", "")))
    except ValueError:
        messages.error(request, _("Give the month as YYYY-MM."))
    except billing.BillingError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Statements issued: %(n)s.") % {"n": issued}
            if issued
            else _("Every statement of that month was already issued: nothing new."),
        )
    return redirect("monitoring:statement-list")


@require_GET
@_statement_user_required
def statement_detail(request, pk: int):
    statement = selectors.statement_for(user=request.user, pk=pk)
    context = {
        "statement": statement,
        "lines": list(selectors.statement_lines(statement)),
        "usage_gaps": selectors.statement_usage_gaps(statement),
    }
    return render(request, "monitoring/statement_detail.html", context)


@require_GET
@_statement_user_required
def statement_csv(request, pk: int):
    statement = selectors.statement_for(user=request.user, pk=pk)
    response = HttpResponse(
        billing.statement_csv(statement), content_type="text/csv; charset=utf-8"
    )
    filename = f"statement-{statement.organization.slug}-{statement.month:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _bearer_token_ok(request) -> bool:
    expected = getattr(settings, "METRICS_TOKEN", "") or ""
    header = request.headers.get("Authorization", "")
    scheme, _sep, given = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@require_GET
def metrics(request):
    """Prometheus metrics for a staff session or ``Authorization: Bearer <METRICS_TOKEN>``."""
    if not (request.user.is_authenticated and request.user.is_staff) and not _bearer_token_ok(
        request
    ):
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    snapshot = selectors.metrics_snapshot(now=timezone.now())
    return HttpResponse(metrics_text(snapshot), content_type=CONTENT_TYPE)
