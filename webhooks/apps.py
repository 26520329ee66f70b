from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from events.services import event_subscribe
        from webhooks import tasks  # noqa: F401 - registers the tasks that dispatch sends by name
        from webhooks.dispatch import fan_out_after_commit

        event_subscribe(fan_out_after_commit)
