"""The portal shell: the public home page and each role's landing page."""

from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse

from market.permissions import school_admin_required, vendor_user_required
from monitoring.models import Incident
from portal.selectors import market_overview
from services.models import Manifest
from services.selectors import listed_services
from tenants.models import Operation
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


def staff_overview(request):
    """Counts that tell staff where to look; linked from the admin."""
    if not (request.user.is_authenticated and request.user.is_staff):
        return redirect(f"{reverse('admin:login')}?next={request.path}")
    return render(request, "market/staff_overview.html", {"overview": market_overview()})
