"""The school admin's pages: catalog, subscribing, and looking after subscriptions.

Views are thin: they read through `tenants.selectors` (and `services.selectors`, and
`monitoring.selectors` for a tenant's usage), write through `tenants.operations.services` (and
`tenants.credentials`, `tenants.team`), and show a `LifecycleError` next to the field it names.
Every page is scoped to `request.user.organization`; another school's id answers 404.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from market.permissions import school_admin_required
from monitoring import billing
from monitoring.selectors import tenant_usage, usage_metrics
from portal.history import tenant_history
from tenants import selectors
from tenants.credentials import tenant_reveal_credentials
from tenants.display import display_state
from tenants.errors import LifecycleError
from tenants.forms import ChangePlanForm, InviteForm, RenewForm, SubscribeForm
from tenants.models import Subscription
from tenants.operations.services import (
    subscription_cancel,
    subscription_change_plan,
    subscription_create,
    subscription_renew,
)
from tenants.recovery import subscription_retry_activation
from tenants.team import TeamError, team_invite


def _subscription(request, pk: int):
    return selectors.school_subscription(organization=request.user.organization, pk=pk)


def _to_detail(subscription):
    return redirect("school-subscription", pk=subscription.pk)


# --- catalog ---------------------------------------------------------------------------------


@school_admin_required
def catalog(request):
    query = request.GET.get("q", "")[:200]
    category = request.GET.get("category", "")[:100]
    feature = request.GET.get("feature", "")[:100]
    result = selectors.catalog(query=query, category=category, feature=feature)
    subscribed = set(
        selectors.school_subscriptions(organization=request.user.organization)
        .filter(status__in=Subscription.LIVE_STATUSES)
        .values_list("service_id", flat=True)
    )
    return render(
        request,
        "tenants/catalog.html",
        {
            "catalog": result,
            "query": query,
            "category": category,
            "feature": feature,
            "subscribed": subscribed,
        },
    )


@school_admin_required
def service_detail(request, service_id: str):
    service = selectors.catalog_service(service_id=service_id)
    return render(
        request,
        "tenants/service_detail.html",
        {
            "service": service,
            "comparison": selectors.plan_comparison(service),
            "categories": selectors.labelled_categories(service),
            "live_subscription": selectors.school_live_subscription(
                organization=request.user.organization, service=service
            ),
            "supports_plan_change": selectors.supports_plan_change(service),
        },
    )


@school_admin_required
@require_http_methods(["GET", "POST"])
def subscribe(request, service_id: str):
    organization = request.user.organization
    service = selectors.catalog_service(service_id=service_id)
    live = selectors.school_live_subscription(organization=organization, service=service)
    if request.method == "POST":
        form = SubscribeForm(request.POST, service=service)
        if form.is_valid():
            data = form.cleaned_data
            try:
                subscription = subscription_create(
                    organization=organization,
                    service=service,
                    plan=data["plan"],
                    ends_on=data["ends_on"],
                    max_users=data["max_users"],
                    storage_limit_gb=data["storage_limit_gb"],
                    admin_email=data["admin_email"],
                    admin_name=data["admin_name"],
                    created_by=request.user,
                    idempotency_key=data["idempotency_key"],
                )
            except LifecycleError as error:
                form.add_lifecycle_error(error)
            else:
                messages.success(
                    request,
                    _("Subscription requested: %(service)s.") % {"service": service.name},
                )
                return _to_detail(subscription)
    else:
        if live is not None:
            messages.info(request, _("Your school already subscribes to this service."))
            return _to_detail(live)
        form = SubscribeForm(
            initial=SubscribeForm.initial_for(
                service=service, user=request.user, plan_code=request.GET.get("plan", "")
            ),
            service=service,
        )
    return render(
        request,
        "tenants/subscribe.html",
        {"service": service, "form": form, "comparison": selectors.plan_comparison(service)},
    )


# --- subscriptions ---------------------------------------------------------------------------


@school_admin_required
def subscription_list(request):
    subscriptions = list(selectors.school_subscriptions(organization=request.user.organization))
    live = [s for s in subscriptions if s.is_live]
    for subscription in subscriptions:
        subscription.display = display_state(subscription)
    past = [s for s in subscriptions if not s.is_live]
    return render(request, "tenants/subscription_list.html", {"live": live, "past": past})


def _detail_context(request, subscription, **forms):
    tenant = subscription.tenant
    plans = selectors.changeable_plans(subscription) if subscription.is_live else []
    reports = tenant_usage(tenant=tenant) if tenant else []
    context = {
        "subscription": subscription,
        "tenant": tenant,
        "service": subscription.service,
        "newer": selectors.newer_subscription(subscription),
        "renew_form": forms.get("renew_form") or RenewForm(),
        "plan_form": forms.get("plan_form") or (ChangePlanForm(plans=plans) if plans else None),
        "supports_plan_change": selectors.supports_plan_change(subscription.service),
        "history": tenant_history(tenant=tenant) if tenant else [],
        "usage_reports": reports,
        "usage_metrics": usage_metrics(reports),
        # What a change would cost, shown before the school confirms it.
        "plan_quotes": _plan_quotes(subscription, plans),
        "renewal_quote": _renewal_quote(subscription),
    }
    context.update(_state_context(subscription))
    return context


def _plan_quotes(subscription, plans) -> list:
    if not plans:
        return []
    quotes = billing.plan_change_quotes(subscription=subscription, plans=plans)
    return [(plan, quotes[plan.pk]) for plan in plans]


def _renewal_quote(subscription):
    """A year's renewal from the current end (or today), at the agreed price."""
    start = max(subscription.ends_on, timezone.localdate())
    ends_on = start.replace(year=start.year + 1, day=min(start.day, 28 if start.month == 2 else 31))
    return billing.renewal_quote(subscription=subscription, ends_on=ends_on)


def _state_context(subscription) -> dict:
    display = display_state(subscription)
    subscription.display = display
    return {
        "subscription": subscription,
        "tenant": subscription.tenant,
        "display": display,
        "settling": display.settling,
        "usable": display.usable,
    }


@school_admin_required
def subscription_detail(request, pk: int):
    subscription = _subscription(request, pk)
    return render(
        request, "tenants/subscription_detail.html", _detail_context(request, subscription)
    )


@school_admin_required
@never_cache
def subscription_state(request, pk: int):
    """The state panel alone: htmx polls it every 2 s while the tenant settles."""
    subscription = _subscription(request, pk)
    context = _state_context(subscription)
    if request.GET.get("cell"):
        return render(request, "tenants/partials/state_cell.html", context)
    return render(request, "tenants/partials/state_panel.html", {**context, "oob": True})


@school_admin_required
@require_POST
@never_cache
def subscription_reveal_credentials(request, pk: int):
    subscription = _subscription(request, pk)
    try:
        password = tenant_reveal_credentials(tenant=subscription.tenant, user=request.user)
    except LifecycleError as error:
        messages.error(request, error.message)
        return _to_detail(subscription)
    response = render(
        request,
        "tenants/credentials_revealed.html",
        {"subscription": subscription, "tenant": subscription.tenant, "password": password},
    )
    response["Cache-Control"] = "no-store"
    return response


@school_admin_required
@require_POST
def subscription_renew_view(request, pk: int):
    subscription = _subscription(request, pk)
    form = RenewForm(request.POST)
    if form.is_valid():
        ends_on = form.cleaned_data["ends_on"]
        if subscription.is_live and subscription.ends_on == ends_on:
            # The same renewal submitted twice: it already happened.
            return _to_detail(subscription)
        try:
            renewed = subscription_renew(
                subscription=subscription, ends_on=ends_on, renewed_by=request.user
            )
        except LifecycleError as error:
            form.add_lifecycle_error(error)
        else:
            messages.success(
                request, _("Renewed until %(date)s.") % {"date": renewed.ends_on.isoformat()}
            )
            return _to_detail(renewed)
    return render(
        request,
        "tenants/subscription_detail.html",
        _detail_context(request, subscription, renew_form=form),
    )


@school_admin_required
@require_POST
def subscription_change_plan_view(request, pk: int):
    subscription = _subscription(request, pk)
    plans = selectors.changeable_plans(subscription) if subscription.is_live else []
    form = ChangePlanForm(request.POST, plans=plans)
    if form.is_valid():
        try:
            subscription_change_plan(
                subscription=subscription, plan=form.cleaned_data["plan"], changed_by=request.user
            )
        except LifecycleError as error:
            form.add_lifecycle_error(error)
        else:
            messages.success(
                request,
                _("Plan change to %(plan)s requested; the vendor is applying it.")
                % {"plan": form.cleaned_data["plan"].name},
            )
            return _to_detail(subscription)
    return render(
        request,
        "tenants/subscription_detail.html",
        _detail_context(request, subscription, plan_form=form),
    )


@school_admin_required
@require_POST
def subscription_retry_view(request, pk: int):
    """Ask for another activation attempt after a failure (the vendor says it is fixed)."""
    subscription = _subscription(request, pk)
    try:
        subscription_retry_activation(subscription=subscription, requested_by=request.user)
    except LifecycleError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Another activation attempt is on its way to the vendor."))
    return _to_detail(subscription)


@school_admin_required
@require_http_methods(["GET", "POST"])
def subscription_cancel_view(request, pk: int):
    """GET asks for confirmation; POST cancels (a second POST finds it ended and says so)."""
    subscription = _subscription(request, pk)
    if request.method == "POST":
        if not subscription.is_live:
            messages.info(request, _("This subscription has already ended."))
            return _to_detail(subscription)
        try:
            subscription_cancel(subscription=subscription, cancelled_by=request.user)
        except LifecycleError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Cancelled. The vendor is deactivating %(service)s; your data is kept.")
                % {"service": subscription.service.name},
            )
        return _to_detail(subscription)
    if not subscription.is_live:
        return _to_detail(subscription)
    return render(request, "tenants/subscription_cancel.html", {"subscription": subscription})


# --- team ------------------------------------------------------------------------------------


@school_admin_required
@require_http_methods(["GET", "POST"])
def team(request):
    organization = request.user.organization
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team_invite(
                organization=organization,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                invited_by=request.user,
            )
        except TeamError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s.")
                % {"email": form.cleaned_data["email"].strip().lower()},
            )
            return redirect(reverse("school-team"))
    return render(
        request,
        "tenants/team.html",
        {"form": form, "admins": selectors.school_admins(organization=organization)},
    )
