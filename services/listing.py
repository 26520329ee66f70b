"""The listing gate: what stands between a service and the schools, and listing it once clear.

A new service is registered ``pending_review`` and shown to schools only once every item of
its checklist is done (docs/standard/listing.md):

- ``conformance``: the latest conformance run of the service, started after its current
  manifest, passed every required check (``vendorkit.conformance`` levels) against the
  manifest's real base URL with the credentials the market issued (``services.conformance``).
  Only while ``MarketPolicy.require_conformance`` is on (the default).
- ``prices``: every active plan has a price, declared in the manifest (``plans.<code>.price``,
  0 for a free plan) or set by staff.
- ``approval``: a member of staff approved it, only while ``require_staff_approval`` is on.

``service_list_if_ready`` lists a pending service whose checklist is clear (``listed_via =
gate``); it runs after registration, a passing conformance run, a manifest update and a price
set by staff. Staff can approve by hand whatever the checklist says (``service_approve``,
``listed_via = staff``). Services listed before the gate existed stay listed
(``listed_via = grandfathered``, set by migration ``services.0004``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from events.services import event_record
from market.models import MarketPolicy
from services.models import ConformanceRun, Plan, Service


@dataclass(frozen=True)
class ChecklistItem:
    """One thing between a service and its listing: ``done``, and what to do when it is not."""

    key: str
    title: str
    done: bool
    detail: str


def _conformance_item(service: Service) -> ChecklistItem:
    title = _("Pass the required conformance checks")
    runs = service.conformance_runs.exclude(result=ConformanceRun.Result.RUNNING)
    if service.current_manifest_id:
        runs = runs.filter(created_at__gte=service.current_manifest.created_at)
    latest = runs.order_by("-created_at", "-pk").first()
    if latest is None:
        detail = _(
            "Run the conformance kit from this page: the market calls your base URL with the "
            "credentials it issued to you."
        )
        return ChecklistItem("conformance", title, False, detail)
    if latest.result == ConformanceRun.Result.PASSED:
        detail = _("Passed on %(when)s.") % {"when": latest.created_at.strftime("%Y-%m-%d %H:%M")}
        return ChecklistItem("conformance", title, True, detail)
    if latest.result == ConformanceRun.Result.FAILED:
        detail = _(
            "The latest run failed %(count)s required check(s): open its report, fix them and "
            "run the kit again."
        ) % {"count": latest.failed_count}
    else:
        detail = _("The latest run could not run: %(error)s") % {
            "error": str(latest.report.get("error") or _("the vendor was not reachable"))[:200]
        }
    return ChecklistItem("conformance", title, False, detail)


def _prices_item(service: Service) -> ChecklistItem:
    title = _("Give every plan a price")
    unpriced = [
        plan.code for plan in service.plans.filter(is_active=True, price_set=False).order_by("code")
    ]
    if not service.plans.filter(is_active=True).exists():
        return ChecklistItem("prices", title, False, _("The manifest declares no plan."))
    if unpriced:
        detail = _(
            "No price for plan(s) %(codes)s: declare plans.<code>.price in your manifest "
            "(0 for a free plan) or ask the market's staff to set one."
        ) % {"codes": ", ".join(unpriced)}
        return ChecklistItem("prices", title, False, detail)
    return ChecklistItem("prices", title, True, _("Every plan has a price."))


def listing_checklist(
    service: Service, *, policy: MarketPolicy | None = None
) -> list[ChecklistItem]:
    """Every item the listing of ``service`` depends on, done or not, in the order to do them."""
    policy = policy or MarketPolicy.load()
    items = []
    if policy.require_conformance:
        items.append(_conformance_item(service))
    items.append(_prices_item(service))
    if policy.require_staff_approval:
        approved = service.status == Service.Status.LISTED
        items.append(
            ChecklistItem(
                "approval",
                _("Staff approval"),
                approved,
                _("Approved.") if approved else _("The market's staff review every new service."),
            )
        )
    return items


def listing_blockers(service: Service) -> list[ChecklistItem]:
    """The checklist items not done yet (empty: nothing stands between the service and listing)."""
    return [item for item in listing_checklist(service) if not item.done]


def service_list_if_ready(*, service: Service) -> bool:
    """List a pending service whose checklist is clear; True when it was listed now."""
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        if service.status != Service.Status.PENDING_REVIEW or listing_blockers(service):
            return False
        service.status = Service.Status.LISTED
        service.listed_via = Service.ListedVia.GATE
        service.save(update_fields=["status", "listed_via", "updated_at"])
        event_record(type="service.listed", service=service)
    return True


def plan_price_set(*, plan: Plan, price: Decimal | int) -> Plan:
    """Staff set a plan's price (one the manifest does not declare, or a correction)."""
    if Decimal(price) < 0:
        raise ValueError("a price cannot be negative: write 0 for a free plan")
    plan.price = Decimal(price)
    plan.price_set = True
    plan.save(update_fields=["price", "price_set", "updated_at"])
    service_list_if_ready(service=plan.service)
    return plan
