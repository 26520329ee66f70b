"""The one check of a subscription's terms, shared by subscribe, renew and plan change.

Every rule is checked and every broken one reported together (``SubscriptionInputError``
carries them all, each under the field it names), so a form shows all its problems at once and
the API answers one problem with one ``errors`` item per field. Nothing is stored before the
check passes.
"""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _

from services.models import Plan, Service
from tenants.errors import LifecycleError

# A subscription, or what is left of it after a renewal, lasts at most 3 years.
PERIOD_MAX_DAYS = 3 * 366


class SubscriptionInputError(LifecycleError):
    """One or more broken rules of a subscription's terms: ``errors`` lists (field, message)."""

    def __init__(self, errors: list[tuple[str | None, str]]):
        field, message = errors[0]
        super().__init__(message, field=field)
        self.errors = errors

    def problem_detail(self) -> str:
        if len(self.errors) == 1:
            return self.message
        return _("The request has %(n)s problems: see errors.") % {"n": len(self.errors)}

    def problem_errors(self) -> list[dict]:
        return [{"field": field, "message": message} for field, message in self.errors]


def _limit_errors(*, plan: Plan, max_users: int, storage_limit_gb: int) -> list:
    errors = []
    if max_users < 1:
        errors.append(("max_users", _("Max users must be at least 1.")))
    elif plan.max_users is not None and max_users > plan.max_users:
        errors.append(
            (
                "max_users",
                _(
                    "The %(plan)s plan allows at most %(n)s users: lower max users or choose a bigger plan."
                )
                % {"plan": plan.name, "n": plan.max_users},
            )
        )
    if storage_limit_gb < 1:
        errors.append(("storage_limit_gb", _("Storage must be at least 1 GB.")))
    elif plan.storage_limit_gb is not None and storage_limit_gb > plan.storage_limit_gb:
        errors.append(
            (
                "storage_limit_gb",
                _(
                    "The %(plan)s plan allows at most %(n)s GB: lower the storage or choose a bigger plan."
                )
                % {"plan": plan.name, "n": plan.storage_limit_gb},
            )
        )
    return errors


def _period_errors(*, starts_on, ends_on, today, renewing_from=None) -> list:
    """The dates: an end after today and the start, at most 3 years after the period's start.

    A renewal's period starts at the later of today and the subscription's start, and its new end
    must be after ``renewing_from`` (the current end, or today if that is later).
    """
    if renewing_from is not None:
        if ends_on <= renewing_from:
            return [("ends_on", _("Choose an end date after %(date)s.") % {"date": renewing_from})]
        start = max(starts_on, today)
    else:
        if ends_on <= today:
            return [("ends_on", _("The end date is in the past: choose a later date."))]
        if ends_on <= starts_on:
            return [("ends_on", _("The end date must be after the start date."))]
        start = starts_on
    if (ends_on - start).days > PERIOD_MAX_DAYS:
        latest = start + datetime.timedelta(days=PERIOD_MAX_DAYS)
        return [
            (
                "ends_on",
                _("A subscription lasts at most 3 years: choose an end date on or before %(date)s.")
                % {"date": latest.isoformat()},
            )
        ]
    return []


def subscription_input_errors(
    *,
    service: Service,
    plan: Plan | None,
    starts_on: datetime.date,
    ends_on: datetime.date | None,
    max_users: int | None,
    storage_limit_gb: int | None,
    today: datetime.date,
    renewing_from: datetime.date | None = None,
    offer: bool = True,
) -> list[tuple[str | None, str]]:
    """Every broken rule of these terms as (field, message); a None input skips its rules.

    A form passes None for the fields it could not read yet, so the rest are still checked and
    every problem shows at once. ``offer=False`` skips whether the service and plan are open to
    new subscribers (a live subscription is renewed on its plan, listed or not).
    """
    errors: list[tuple[str | None, str]] = []
    if offer and service.status != Service.Status.LISTED:
        errors.append(("service", _("This service is not open for subscriptions.")))
    if offer and plan is not None and (plan.service_id != service.pk or not plan.is_active):
        codes = ", ".join(service.plans.filter(is_active=True).values_list("code", flat=True))
        errors.append(
            (
                "plan",
                _("Unknown plan for this service: choose one of %(codes)s.") % {"codes": codes},
            )
        )
    if ends_on is not None:
        errors += _period_errors(
            starts_on=starts_on, ends_on=ends_on, today=today, renewing_from=renewing_from
        )
    if plan is not None and max_users is not None and storage_limit_gb is not None:
        errors += _limit_errors(plan=plan, max_users=max_users, storage_limit_gb=storage_limit_gb)
    return errors


def subscription_input_check(
    *,
    service: Service,
    plan: Plan,
    starts_on: datetime.date,
    ends_on: datetime.date,
    max_users: int,
    storage_limit_gb: int,
    today: datetime.date,
    renewing_from: datetime.date | None = None,
    offer: bool = True,
) -> None:
    """Raise SubscriptionInputError listing every broken rule of these terms, or return.

    Used as it is by a new subscription; a renewal passes ``renewing_from`` (the date its new
    end must pass) and ``offer=False``.
    """
    errors = subscription_input_errors(
        service=service,
        plan=plan,
        starts_on=starts_on,
        ends_on=ends_on,
        max_users=max_users,
        storage_limit_gb=storage_limit_gb,
        today=today,
        renewing_from=renewing_from,
        offer=offer,
    )
    if errors:
        raise SubscriptionInputError(errors)


def subscription_limits_check(*, plan: Plan, max_users: int, storage_limit_gb: int) -> None:
    """Raise SubscriptionInputError if these limits do not fit ``plan`` (a plan change's check)."""
    errors = _limit_errors(plan=plan, max_users=max_users, storage_limit_gb=storage_limit_gb)
    if errors:
        raise SubscriptionInputError(errors)
