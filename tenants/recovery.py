"""What a school may do about a failed activation: ask for another attempt."""

from django.db import transaction
from django.utils.translation import gettext as _

from market.models import User
from tenants.display import Display, display_state
from tenants.errors import LifecycleError
from tenants.models import Operation, Subscription, Tenant
from tenants.operations.services import operation_retry_now


def subscription_retry_activation(*, subscription: Subscription, requested_by: User) -> Operation:
    """Queue the failed activation of this subscription's tenant again, now.

    Only a failed activation of a live subscription can be retried by the school (the vendor
    refused it; the school says the vendor has fixed it). Anything else raises LifecycleError
    naming the current state, and nothing changes.
    """
    with transaction.atomic():
        subscription = Subscription.objects.select_related("tenant").get(pk=subscription.pk)
        if subscription.tenant_id is not None:
            subscription.tenant = Tenant.objects.select_for_update().get(pk=subscription.tenant_id)
        state = display_state(subscription)
        if not state.can_retry:
            if state.code == Display.FAILED:
                message = _(
                    "Only a failed activation can be tried again from here; the market's staff "
                    "handles this failure."
                )
            else:
                message = _(
                    "Only a failed activation can be tried again. Current state: %(state)s."
                ) % {"state": state.label}
            raise LifecycleError(message, code="not_failed")
        operation = (
            Operation.objects.filter(tenant=subscription.tenant, kind=Operation.Kind.ACTIVATE)
            .order_by("-created_at", "-pk")
            .first()
        )
        return operation_retry_now(
            operation=operation,
            requested_by=requested_by,
            message=_("The school asked for another activation attempt."),
        )
