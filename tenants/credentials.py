"""The one-time reveal of the temporary password a vendor returned when it activated a tenant."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.models import User
from tenants.errors import LifecycleError
from tenants.events import record_event
from tenants.models import Tenant


def tenant_reveal_credentials(*, tenant: Tenant, user: User) -> str:
    """Return the temporary password once, then erase it; a second call raises LifecycleError.

    The row is locked so two clicks (or two admins) cannot both read the password: the first
    commit erases it and the second finds it empty.
    """
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        password = locked.temp_password
        if not password:
            if locked.credentials_revealed_at is not None:
                shown = timezone.localtime(locked.credentials_revealed_at)
                raise LifecycleError(
                    _("The temporary password was already shown on %(when)s.")
                    % {"when": f"{shown:%Y-%m-%d %H:%M}"},
                    code="already_revealed",
                )
            raise LifecycleError(
                _("The vendor sent no temporary password for this service."), code="none"
            )
        locked.temp_password = ""
        locked.credentials_revealed_at = timezone.now()
        locked.save(update_fields=["temp_password", "credentials_revealed_at", "updated_at"])
        record_event(
            tenant=locked,
            kind="credentials_revealed",
            message=_("The temporary password was shown once and erased."),
            actor=user,
        )
    tenant.temp_password = ""
    tenant.credentials_revealed_at = locked.credentials_revealed_at
    return password
