from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Schools, subscriptions and tenants")

    def ready(self):
        # The catalog (a layer below) asks these questions without importing this app.
        from services import selectors as catalog
        from tenants import selectors

        catalog.services_used_by.provide(selectors.services_used_by)
        catalog.plans_in_live_use.provide(selectors.plans_in_live_use)
