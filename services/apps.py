from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = _("Vendors and services")

    def ready(self):
        from django.core import checks

        from services.vendor_client.checks import (
            check_jwt_key_configured,
            check_vendor_allowlists_empty_in_production,
        )

        checks.register(
            check_vendor_allowlists_empty_in_production, checks.Tags.security, deploy=True
        )
        checks.register(check_jwt_key_configured, checks.Tags.security, deploy=True)
