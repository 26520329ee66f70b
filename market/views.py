"""The portal shell: the public home page and each role's landing page."""

from django.shortcuts import redirect, render
from django.urls import reverse

from market.permissions import school_admin_required, vendor_user_required

ROLE_HOMES = {"staff": "staff-overview", "vendor": "vendor-home", "school": "school-home"}


def home(request):
    """Anonymous visitors see the public home page; people with a role go to their own."""
    if request.user.is_authenticated and request.user.role in ROLE_HOMES:
        return redirect(reverse(ROLE_HOMES[request.user.role]))
    from services.selectors import listed_services

    return render(request, "market/home.html", {"services": listed_services()[:12]})


@school_admin_required
def school_home(request):
    organization = request.user.organization
    return render(request, "market/school_home.html", {"organization": organization})


@vendor_user_required
def vendor_home(request):
    vendor = request.user.vendor
    return render(request, "market/vendor_home.html", {"vendor": vendor})


def staff_overview(request):
    """Counts that tell staff where to look; linked from the admin."""
    from market.selectors import market_overview

    if not (request.user.is_authenticated and request.user.is_staff):
        return redirect(f"{reverse('admin:login')}?next={request.path}")
    return render(request, "market/staff_overview.html", {"overview": market_overview()})
