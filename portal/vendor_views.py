"""The vendor's pages: sign-up, registering services, manifests, credentials, tenants, conformance.

Views are thin: writes go through `services.services`; every page is scoped to
`request.user.vendor`, so another vendor's service id answers 404.
"""

from dataclasses import dataclass, field
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth import login
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from market.permissions import vendor_user_required
from monitoring.models import Incident
from portal.history import tenant_history
from services.forms import ManifestForm, VendorSignupForm
from services.listing import listing_checklist
from services.models import ConformanceRun, Manifest, Service
from services.services import (
    RegistrationError,
    credential_rotate,
    manifest_diff,
    manifest_update,
    service_register,
    vendor_signup,
)
from tenants.display import tenants_with_display
from tenants.models import Operation, Tenant

TENANT_OPERATIONS_SHOWN = 5
OPERATIONS_SHOWN = 50
REJECTED_SHOWN = 10


def _service(request, service_id: str) -> Service:
    service = (
        Service.objects.filter(vendor=request.user.vendor, service_id=service_id)
        .select_related("vendor", "current_manifest")
        .first()
    )
    if service is None:
        raise Http404("No such service.")
    return service


def _no_store(response):
    """Secrets are on this page: no cache may keep it."""
    response["Cache-Control"] = "no-store"
    return response


# --- sign-up ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = VendorSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = vendor_signup(
                name=data["name"],
                contact_email=data["contact_email"],
                username=data["username"],
                password=data["password1"],
            )
        except IntegrityError:
            # Someone took the user name between the form's check and the insert.
            form.add_error("username", _("This user name is taken: choose another."))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _("Welcome, %(vendor)s. Register your first service.") % {"vendor": data["name"]},
            )
            return redirect("vendor-service-new")
    return render(request, "services/signup.html", {"form": form})


# --- manifests with their errors under the lines they point at -------------------------------


@dataclass
class ListingLine:
    number: int
    text: str
    errors: list[str] = field(default_factory=list)


@dataclass
class ManifestListing:
    lines: list[ListingLine]
    general: list[str]
    count: int


def manifest_listing(text: str, errors) -> ManifestListing:
    """The manifest with line numbers, each error under its line, in the page's language."""
    korean = (get_language() or "ko").startswith("ko")
    lines = [ListingLine(n, line) for n, line in enumerate(text.splitlines() or [""], start=1)]
    general = []
    for error in errors:
        # The messages name their field themselves (e.g. "`/service/id` ..."), so no prefix.
        message = getattr(error, "message_ko" if korean else "message", "") or error.message
        if error.line and 1 <= error.line <= len(lines):
            lines[error.line - 1].errors.append(message)
        else:
            general.append(message)
    return ManifestListing(lines, general, len(errors))


def _submission_failed(request, template: str, form, error: RegistrationError, context: dict):
    text = form.cleaned_data.get("text", "")
    form.add_error(None, error.message)
    listing = manifest_listing(text, error.errors) if error.errors else None
    return render(request, template, {**context, "form": form, "listing": listing})


@vendor_user_required
@require_http_methods(["GET", "POST"])
def service_new(request):
    form = ManifestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            service, issued = service_register(
                vendor=request.user.vendor,
                raw_text=form.cleaned_data["text"],
                submitted_by=request.user,
            )
        except RegistrationError as error:
            return _submission_failed(request, "services/service_new.html", form, error, {})
        return _no_store(
            render(
                request,
                "services/credentials.html",
                {"service": service, "issued": issued, "first_time": True},
            )
        )
    return render(request, "services/service_new.html", {"form": form})


@vendor_user_required
@require_http_methods(["GET", "POST"])
def manifest_submit(request, service_id: str):
    service = _service(request, service_id)
    if request.method == "POST":
        form = ManifestForm(request.POST, request.FILES)
        current = service.current_manifest
        if form.is_valid() and current and form.cleaned_data["text"] == current.raw_text:
            # The same text again (a resubmitted form): no new version.
            messages.info(request, _("This text is already the current manifest."))
            return redirect("vendor-manifest", service_id=service.service_id, number=current.number)
        if form.is_valid():
            try:
                manifest = manifest_update(
                    service=service, raw_text=form.cleaned_data["text"], submitted_by=request.user
                )
            except RegistrationError as error:
                return _submission_failed(
                    request, "services/manifest_submit.html", form, error, {"service": service}
                )
            messages.success(
                request,
                _("Manifest #%(number)s is now current.") % {"number": manifest.number},
            )
            return redirect(
                "vendor-manifest", service_id=service.service_id, number=manifest.number
            )
    else:
        current = service.current_manifest
        form = ManifestForm(initial={"manifest": current.raw_text if current else ""})
    return render(request, "services/manifest_submit.html", {"service": service, "form": form})


@vendor_user_required
def manifest_detail(request, service_id: str, number: int):
    service = _service(request, service_id)
    manifests = list(service.manifests.order_by("number"))
    manifest = next((m for m in manifests if m.number == number), None)
    if manifest is None:
        raise Http404("No such manifest version.")
    earlier = [m for m in manifests if m.number < number]
    against_number = request.GET.get("against", "")
    against = next((m for m in earlier if str(m.number) == against_number), None)
    against = against or (earlier[-1] if earlier else None)
    diff = manifest_diff(against, manifest) if against else ""
    return render(
        request,
        "services/manifest_detail.html",
        {
            "service": service,
            "manifest": manifest,
            "manifests": manifests,
            "earlier": earlier,
            "against": against,
            "diff_lines": _diff_lines(diff),
            "lines": manifest.raw_text.splitlines(),
        },
    )


def _diff_lines(diff: str) -> list[tuple[str, str]]:
    """Each unified-diff line with a kind the template colours: add, del, hunk, file or same."""
    kinds = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kinds.append(("file", line))
        elif line.startswith("@@"):
            kinds.append(("hunk", line))
        elif line.startswith("+"):
            kinds.append(("add", line))
        elif line.startswith("-"):
            kinds.append(("del", line))
        else:
            kinds.append(("same", line))
    return kinds


# --- one service -----------------------------------------------------------------------------


@vendor_user_required
def service_detail(request, service_id: str):
    service = _service(request, service_id)
    tenants = Tenant.objects.filter(service=service)
    return render(
        request,
        "services/service_detail.html",
        {
            "service": service,
            "plans": service.plans.filter(is_active=True).order_by("position", "code"),
            "manifests": service.manifests.order_by("-number")[:20],
            "tenant_count": tenants.count(),
            "tenants_by_state": _count_by_state(tenants),
            "failed_operations": Operation.objects.filter(
                tenant__service=service,
                state__in=(Operation.State.FAILED, Operation.State.NEEDS_ATTENTION),
            ).count(),
            "incidents": Incident.objects.filter(service=service).order_by("-opened_at")[:10],
            "conformance_runs": service.conformance_runs.order_by("-created_at")[:10],
            "conformance_available": _conformance_runner() is not None,
            "credential": service.credentials.filter(expires_at__isnull=True).first(),
            "listing_checklist": listing_checklist(service),
        },
    )


def _count_by_state(tenants) -> list[tuple[str, str, int]]:
    counts: dict[str, int] = {}
    for state in tenants.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return [(state, Tenant.State(state).label, n) for state, n in sorted(counts.items())]


@vendor_user_required
@require_http_methods(["GET", "POST"])
def credentials_rotate(request, service_id: str):
    """GET explains and asks; POST issues new credentials and shows them this once."""
    service = _service(request, service_id)
    if request.method == "POST":
        issued = credential_rotate(service=service)
        return _no_store(
            render(
                request,
                "services/credentials.html",
                {"service": service, "issued": issued, "first_time": False},
            )
        )
    from market.models import MarketPolicy

    return render(
        request,
        "services/credentials_rotate.html",
        {"service": service, "overlap_hours": MarketPolicy.load().credential_overlap_hours},
    )


@vendor_user_required
def service_tenants(request, service_id: str):
    service = _service(request, service_id)
    tenants = list(
        tenants_with_display(Tenant.objects.filter(service=service))
        .select_related("organization")
        .order_by("organization__name")
    )
    recent: dict[int, list[Operation]] = {tenant.pk: [] for tenant in tenants}
    for operation in Operation.objects.filter(tenant__service=service).order_by("-created_at"):
        shown = recent.get(operation.tenant_id)
        if shown is not None and len(shown) < TENANT_OPERATIONS_SHOWN:
            shown.append(operation)
    rows = [(tenant, recent[tenant.pk]) for tenant in tenants]
    return render(request, "services/service_tenants.html", {"service": service, "rows": rows})


@vendor_user_required
def tenant_detail(request, service_id: str, pk: int):
    service = _service(request, service_id)
    tenant = (
        tenants_with_display(Tenant.objects.filter(service=service, pk=pk))
        .select_related("organization")
        .first()
    )
    if tenant is None:
        raise Http404("No such tenant.")
    return render(
        request,
        "services/tenant_detail.html",
        {
            "service": service,
            "tenant": tenant,
            "operations": tenant.operations.order_by("-created_at")[:OPERATIONS_SHOWN],
            "events": tenant_history(tenant=tenant, limit=OPERATIONS_SHOWN),
        },
    )


# --- conformance -----------------------------------------------------------------------------


def _conformance_runner():
    """The conformance kit's entry point, when that part of the market is installed."""
    try:
        from services.conformance import conformance_run
    except ImportError:
        return None
    return conformance_run


@vendor_user_required
@require_POST
def conformance_start(request, service_id: str):
    service = _service(request, service_id)
    runner = _conformance_runner()
    if runner is None:
        messages.error(request, _("The conformance kit is not available on this market yet."))
        return redirect("vendor-service", service_id=service.service_id)
    run = runner(service=service, started_by=request.user)
    return redirect("vendor-conformance", service_id=service.service_id, pk=run.pk)


@vendor_user_required
def conformance_report(request, service_id: str, pk: int):
    service = _service(request, service_id)
    run = ConformanceRun.objects.filter(service=service, pk=pk).first()
    if run is None:
        raise Http404("No such conformance run.")
    report = run.report if isinstance(run.report, dict) else {}
    checks = [_check_row(check) for check in report.get("results") or []]
    checks = [check for check in checks if check is not None]
    return render(
        request,
        "services/conformance_report.html",
        {"service": service, "run": run, "checks": checks, "report": report},
    )


OUTCOME_CLASSES = {"PASS": "passed", "FAIL": "failed", "WARN": "warning", "SKIP": "skipped"}


def _check_row(check) -> dict | None:
    """One result of the kit's report (vendorkit.conformance.report.CheckResult.as_dict())."""
    if not isinstance(check, dict):
        return None
    outcome = str(check.get("outcome") or "").upper()
    return {
        "id": str(check.get("id") or ""),
        "title": check.get("title") or check.get("id") or "?",
        "required": bool(check.get("required", True)),
        "outcome": OUTCOME_CLASSES.get(outcome, outcome.lower()),
        "detail": check.get("detail") or "",
        "source": check.get("source") or "",
        "request": check.get("request") or "",
        "response": check.get("response") or "",
    }


@vendor_user_required
def rejected_submissions(request):
    """The vendor's recent manifests that did not validate, with their errors under their lines."""
    manifests = Manifest.objects.filter(vendor=request.user.vendor, is_valid=False).order_by(
        "-created_at"
    )[:REJECTED_SHOWN]
    entries = [
        (
            manifest,
            manifest_listing(
                manifest.raw_text,
                [SimpleNamespace(**error) for error in manifest.errors if isinstance(error, dict)],
            ),
        )
        for manifest in manifests
    ]
    return render(request, "services/rejected_submissions.html", {"entries": entries})
