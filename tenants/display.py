"""The one displayed state of a subscription and its tenant, for every page, the API and e-mails.

A subscription's own status (active, ended, cancelled) says what the school agreed to; the
tenant's state says what the vendor runs. Neither alone tells a school what it has: a failed
activation leaves the subscription "active" and the tenant "needs attention". `display_state`
reads both (and whether the tenant's last call was refused) and returns one `DisplayState`
with its label, the sentence that explains it, the vendor's words as a detail, and the next
step. Nothing else decides what a school sees.

"Failed" needs the state of the tenant's last lifecycle operation. List pages annotate it
(`with_last_operation`), so a page of subscriptions takes one query however many it shows;
without the annotation it is read with one query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from tenants.models import Operation, Subscription, Tenant

S = Tenant.State
K = Operation.Kind
LAST_OPERATION = "last_operation_state"
LAST_OPERATION_KIND = "last_operation_kind"
_MISSING = object()


class Display(models.TextChoices):
    """What a person is told about a subscription's service."""

    REQUESTED = "requested", gettext_lazy("Requested")
    ACTIVATING = "activating", gettext_lazy("Activating")
    ACTIVE = "active", gettext_lazy("Active")
    UPDATING = "updating", gettext_lazy("Changing plan")
    REACTIVATING = "reactivating", gettext_lazy("Reactivating")
    FAILED = "failed", gettext_lazy("Failed")
    NEEDS_ATTENTION = "needs_attention", gettext_lazy("Needs attention")
    DEACTIVATING = "deactivating", gettext_lazy("Deactivating")
    DEACTIVATED = "deactivated", gettext_lazy("Deactivated")
    PURGING = "purging", gettext_lazy("Deleting data")
    PURGED = "purged", gettext_lazy("Data deleted")
    ENDED = "ended", gettext_lazy("Ended")
    CANCELLED = "cancelled", pgettext_lazy("subscription", "Cancelled")


# States that settle by themselves: the portal polls while a subscription is in one.
SETTLING = frozenset(
    {
        Display.REQUESTED,
        Display.ACTIVATING,
        Display.UPDATING,
        Display.REACTIVATING,
        Display.DEACTIVATING,
        Display.PURGING,
    }
)
# States in which the school can open the service.
USABLE = frozenset({Display.ACTIVE, Display.UPDATING})


@dataclass(frozen=True)
class DisplayState:
    """One subscription's state as a person reads it."""

    code: str
    label: str
    explanation: str
    detail: str = ""  # the vendor's (or the market's) own words, shown quoted under ours
    next_step: str = ""
    can_retry: bool = False  # the school may ask for the failed call again

    @property
    def settling(self) -> bool:
        return self.code in SETTLING

    @property
    def usable(self) -> bool:
        return self.code in USABLE

    def __str__(self) -> str:
        return self.label


def _last_operations(tenant_ref: str):
    return (
        Operation.objects.filter(tenant=OuterRef(tenant_ref))
        .exclude(kind=K.STATUS)
        .order_by("-created_at", "-pk")
    )


def _last_operation_annotations(tenant_ref: str) -> dict:
    return {
        LAST_OPERATION: Subquery(_last_operations(tenant_ref).values("state")[:1]),
        LAST_OPERATION_KIND: Subquery(_last_operations(tenant_ref).values("kind")[:1]),
    }


def with_last_operation(subscriptions: QuerySet[Subscription]) -> QuerySet[Subscription]:
    """Annotate each subscription with its tenant's last lifecycle operation (no extra query)."""
    return subscriptions.annotate(**_last_operation_annotations("tenant"))


def tenants_with_display(tenants: QuerySet[Tenant]) -> QuerySet[Tenant]:
    """Annotate tenants for `tenant_display_state`: the newest subscription's status, last call."""
    newest = Subscription.objects.filter(tenant=OuterRef("pk")).order_by("-created_at", "-pk")
    return tenants.annotate(
        newest_subscription_status=Subquery(newest.values("status")[:1]),
        **_last_operation_annotations("pk"),
    )


def _last_operation(subscription: Subscription, tenant: Tenant) -> tuple[str, str]:
    state = getattr(subscription, LAST_OPERATION, _MISSING)
    if state is not _MISSING:
        return state or "", getattr(subscription, LAST_OPERATION_KIND, "") or ""
    last = (
        Operation.objects.filter(tenant=tenant)
        .exclude(kind=K.STATUS)
        .order_by("-created_at", "-pk")
        .values_list("state", "kind")
        .first()
    )
    state, kind = last or ("", "")
    setattr(subscription, LAST_OPERATION, state)
    setattr(subscription, LAST_OPERATION_KIND, kind)
    return state, kind


def _code(subscription: Subscription, tenant: Tenant | None) -> tuple[str, str]:
    """(display code, kind of the failed call) for one subscription."""
    live = subscription.is_live
    if tenant is None:
        if live:
            return Display.REQUESTED, ""
        return _ended(subscription), ""
    if tenant.state == S.NEEDS_ATTENTION:
        state, kind = _last_operation(subscription, tenant)
        if state == Operation.State.FAILED:
            return Display.FAILED, kind
        return Display.NEEDS_ATTENTION, kind
    if not live:
        # An ended subscription shows the tenant's wind-down; a tenant that runs on (under a
        # newer subscription) or was never started is simply the end of this one.
        if tenant.state in (S.DEACTIVATING, S.DEACTIVATED, S.PURGING, S.PURGED):
            return Display(tenant.state), ""
        return _ended(subscription), ""
    return Display(tenant.state), ""


def _ended(subscription: Subscription) -> str:
    if subscription.status == Subscription.Status.CANCELLED:
        return Display.CANCELLED
    return Display.ENDED


def _failure_explanation(kind: str) -> str:
    return {
        K.ACTIVATE: _("Activation failed."),
        K.DEACTIVATE: _("Deactivation failed."),
        K.UPDATE: _("The plan change failed."),
        K.DELETE: _("Deleting the data failed."),
    }.get(kind, _("The vendor refused the request."))


def _explanation(code: str, tenant: Tenant | None) -> str:
    if code == Display.DEACTIVATED and tenant is not None:
        if tenant.data_preserved and tenant.reactivation_deadline:
            return _(
                "The service is turned off. Your data is kept until %(date)s; renew before "
                "then to get it back."
            ) % {"date": f"{tenant.reactivation_deadline:%Y-%m-%d}"}
        if tenant.data_preserved:
            return _("The service is turned off. Your data is kept; renew to get it back.")
        if tenant.data_preserved is False:
            return _("The service is turned off. The vendor did not keep the data.")
    return {
        Display.REQUESTED: _("The market is about to contact the vendor."),
        Display.ACTIVATING: _("The vendor is setting up the service for your school."),
        Display.ACTIVE: _("The service is ready."),
        Display.UPDATING: _("The vendor is changing the plan."),
        Display.REACTIVATING: _("The vendor is bringing back your service and its data."),
        Display.NEEDS_ATTENTION: _(
            "Something went wrong that a person has to look at. The market's staff has been "
            "alerted."
        ),
        Display.DEACTIVATING: _("The vendor is turning the service off."),
        Display.DEACTIVATED: _("The service is turned off."),
        Display.PURGING: _("The vendor is deleting the data."),
        Display.PURGED: _("The data has been deleted."),
        Display.ENDED: _("This subscription has ended."),
        Display.CANCELLED: _("This subscription was cancelled."),
    }.get(code, "")


def display_state(subscription: Subscription) -> DisplayState:
    """The state a person is shown for this subscription (and its tenant)."""
    tenant = subscription.tenant
    code, failed_kind = _code(subscription, tenant)
    code = Display(code)
    detail = ""
    next_step = ""
    can_retry = False
    if code == Display.FAILED:
        explanation = _failure_explanation(failed_kind)
        detail = tenant.attention_reason
        if failed_kind == K.ACTIVATE and subscription.is_live:
            can_retry = True
            next_step = _(
                "Once the vendor has fixed the problem, you can ask for another attempt. "
                "If it is urgent, contact support. The market's staff has already been told."
            )
        else:
            next_step = _(
                "The market's staff has already been told and will sort it out with the "
                "vendor. If it is urgent, contact support."
            )
    elif code == Display.NEEDS_ATTENTION:
        explanation = _explanation(code, tenant)
        detail = tenant.attention_reason
        next_step = _(
            "This page shows the outcome once it is resolved. If it is urgent, contact support."
        )
    else:
        explanation = _explanation(code, tenant)
    return DisplayState(
        code=str(code),
        label=str(code.label),
        explanation=explanation,
        detail=detail,
        next_step=next_step,
        can_retry=can_retry,
    )


def tenant_display_state(tenant: Tenant) -> DisplayState:
    """The displayed state of a tenant: that of its newest subscription (annotated or read)."""
    status = getattr(tenant, "newest_subscription_status", _MISSING)
    if status is _MISSING:
        newest = tenant.subscriptions.order_by("-created_at", "-pk").first()
        status = newest.status if newest is not None else None
    subscription = Subscription(tenant=tenant, status=status or Subscription.Status.ENDED)
    for name in (LAST_OPERATION, LAST_OPERATION_KIND):
        if hasattr(tenant, name):
            setattr(subscription, name, getattr(tenant, name))
    return display_state(subscription)
