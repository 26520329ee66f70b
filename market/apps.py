from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Market")

    def ready(self):
        from django.db.models.signals import post_migrate

        from market.schedule import ensure_periodic_tasks

        post_migrate.connect(ensure_periodic_tasks, sender=self)
