"""Portal pages: webhook endpoints (list, add, detail with deliveries, test, rotate, resend) and
the staff activity page over the event log.

The activity page lives here, in a top-layer app, because it reads school and service names;
the event log itself (events) is core-level and reads no other app.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from events.labels import ACTOR_LABELS, type_label
from events.selectors import activity_search
from market.api.principal import ORGANIZATION, STAFF, VENDOR, Principal
from market.permissions import staff_required
from services.models import Service
from tenants.models import Organization
from webhooks import services
from webhooks.forms import ActivityFilterForm, EndpointForm, TestEventForm
from webhooks.selectors import endpoint_deliveries, visible_endpoints


def _principal(user) -> Principal:
    role = user.role
    if role == "staff":
        return Principal(scope=STAFF, user=user)
    if role == "school":
        return Principal(scope=ORGANIZATION, organization_id=user.organization_id, user=user)
    if role == "vendor":
        return Principal(scope=VENDOR, vendor_id=user.vendor_id, user=user)
    raise PermissionDenied("Only staff, schools and vendors have webhooks.")


def _member_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        request.principal = _principal(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def _endpoint(request, pk):
    return get_object_or_404(visible_endpoints(request.principal), pk=pk)


def _show_error(form, error: services.WebhookError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


@_member_required
def endpoint_list(request):
    """The caller's endpoints, and the form to add one."""
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                principal=request.principal, created_by=request.user, **form.cleaned_data
            )
        except services.WebhookError as error:
            _show_error(form, error)
        else:
            messages.success(request, _("Endpoint added. Its signing secret is shown below."))
            return redirect("webhook-detail", pk=endpoint.pk)
    endpoints = visible_endpoints(request.principal).order_by("-created_at")
    return render(request, "webhooks/endpoint_list.html", {"form": form, "endpoints": endpoints})


@_member_required
def endpoint_detail(request, pk):
    """One endpoint: its secret, settings, the test-event form and the delivery log."""
    endpoint = _endpoint(request, pk)
    page = Paginator(endpoint_deliveries(endpoint).prefetch_related("attempt_log"), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "test_form": TestEventForm(),
            "type_labels": [type_label(name) for name in endpoint.event_types if name != "*"],
        },
    )


@require_POST
@_member_required
def endpoint_test(request, pk):
    endpoint = _endpoint(request, pk)
    form = TestEventForm(request.POST)
    if form.is_valid():
        try:
            services.endpoint_send_test(
                endpoint=endpoint, message=form.cleaned_data["message"], actor=request.user
            )
        except services.WebhookError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Test event queued; its delivery appears below."))
    return redirect("webhook-detail", pk=endpoint.pk)


@require_POST
@_member_required
def endpoint_rotate(request, pk):
    endpoint = services.endpoint_rotate_secret(endpoint=_endpoint(request, pk))
    messages.success(
        request,
        _("New secret issued. The old one also signs until %(time)s.")
        % {"time": f"{endpoint.previous_secret_expires_at:%Y-%m-%d %H:%M}"},
    )
    return redirect("webhook-detail", pk=endpoint.pk)


@require_POST
@_member_required
def endpoint_toggle(request, pk):
    endpoint = _endpoint(request, pk)
    services.endpoint_update(endpoint=endpoint, is_active=not endpoint.is_active)
    messages.success(
        request, _("Endpoint enabled.") if endpoint.is_active else _("Endpoint disabled.")
    )
    return redirect("webhook-detail", pk=endpoint.pk)


@require_POST
@_member_required
def endpoint_delete(request, pk):
    services.endpoint_delete(endpoint=_endpoint(request, pk))
    messages.success(request, _("Endpoint deleted."))
    return redirect("webhook-list")


@require_POST
@_member_required
def delivery_resend(request, pk, delivery_pk):
    endpoint = _endpoint(request, pk)
    delivery = get_object_or_404(endpoint.deliveries, pk=delivery_pk)
    try:
        services.delivery_resend(delivery=delivery)
    except services.WebhookError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Sending again under the same webhook-id."))
    return redirect("webhook-detail", pk=endpoint.pk)


@staff_required
def staff_activity(request):
    """Every event, newest first, searchable by actor, school, service and type."""
    form = ActivityFilterForm(request.GET or None)
    criteria = form.cleaned_data if form.is_valid() else {}
    organization_ids = service_ids = None
    if criteria.get("organization"):
        text = criteria["organization"]
        organization_ids = Organization.objects.filter(
            Q(name__icontains=text) | Q(slug__icontains=text)
        ).values_list("pk", flat=True)
    if criteria.get("service"):
        text = criteria["service"]
        service_ids = Service.objects.filter(
            Q(name__icontains=text) | Q(service_id__icontains=text)
        ).values_list("pk", flat=True)
    events = activity_search(
        actor=criteria.get("actor", ""),
        organization_ids=organization_ids,
        service_ids=service_ids,
        types=[criteria["type"]] if criteria.get("type") else None,
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    organizations = Organization.objects.in_bulk(
        {e.organization_id for e in page if e.organization_id}
    )
    services_by_id = Service.objects.in_bulk({e.service_id for e in page if e.service_id})
    rows = [
        {
            "event": event,
            "label": type_label(event.type),
            "actor_kind": ACTOR_LABELS.get(event.actor_kind, event.actor_kind),
            "organization": organizations.get(event.organization_id),
            "service": services_by_id.get(event.service_id),
        }
        for event in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "webhooks/staff_activity.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )
