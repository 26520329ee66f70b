"""The portal shell: the public home page and each role's landing page."""

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from market.permissions import school_admin_required, vendor_user_required
from monitoring.models import Incident
from portal.selectors import market_overview
from services.models import Manifest
from services.selectors import listed_services
from tenants.errors import LifecycleError
from tenants.models import Operation
from tenants.operations.services import operation_cancel, operation_retry_now
from tenants.selectors import school_dashboard

ROLE_HOMES = {"staff": "staff-overview", "vendor": "vendor-home", "school": "school-home"}


def home(request):
    """Anonymous visitors see the public home page; people with a role go to their own."""
    if request.user.is_authenticated and request.user.role in ROLE_HOMES:
        return redirect(reverse(ROLE_HOMES[request.user.role]))
    return render(request, "market/home.html", {"services": listed_services()[:12]})


@school_admin_required
def school_home(request):
    """The school's dashboard: a search into the catalog, live subscriptions, what needs care."""
    organization = request.user.organization
    return render(
        request,
        "market/school_home.html",
        {"organization": organization, "dashboard": school_dashboard(organization=organization)},
    )


@vendor_user_required
def vendor_home(request):
    """The vendor's services with their health, tenants and anything that failed."""
    vendor = request.user.vendor
    failing = Q(
        tenants__operations__state__in=(Operation.State.FAILED, Operation.State.NEEDS_ATTENTION)
    )
    services = vendor.services.annotate(
        tenant_count=Count("tenants", distinct=True),
        failed_operations=Count("tenants__operations", filter=failing, distinct=True),
    ).order_by("name")
    return render(
        request,
        "market/vendor_home.html",
        {
            "vendor": vendor,
            "services": services,
            "open_incidents": Incident.objects.filter(
                service__vendor=vendor, closed_at__isnull=True
            ).select_related("service"),
            "rejected_count": Manifest.objects.filter(vendor=vendor, is_valid=False).count(),
        },
    )


def _not_staff(request):
    if request.user.is_authenticated and request.user.is_staff:
        return None
    return redirect(f"{reverse('admin:login')}?next={request.path}")


def staff_overview(request):
    """What needs a person now, then the market's counts; linked from the admin."""
    if refused := _not_staff(request):
        return refused
    return render(request, "market/staff_overview.html", {"overview": market_overview()})


def _staff_operation_action(request, pk: int, action, done: str):
    if refused := _not_staff(request):
        return refused
    operation = get_object_or_404(Operation.objects.select_related("tenant"), pk=pk)
    try:
        action(operation, request.user)
    except LifecycleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("staff-overview")


@require_POST
def staff_operation_retry(request, pk: int):
    return _staff_operation_action(
        request,
        pk,
        lambda operation, user: operation_retry_now(operation=operation, requested_by=user),
        _("The operation is queued for another attempt now."),
    )


@require_POST
def staff_operation_cancel(request, pk: int):
    return _staff_operation_action(
        request,
        pk,
        lambda operation, user: operation_cancel(operation=operation, cancelled_by=user),
        _("The operation is cancelled; the market no longer calls the vendor for it."),
    )
