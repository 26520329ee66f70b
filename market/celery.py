"""The Celery app: a worker and beat (DatabaseScheduler) make every call into vendors."""

import os

from celery import Celery
from celery.signals import import_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")

app = Celery("market")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@import_modules.connect
def _fail_clearly_on_bad_environment(sender=None, **kwargs):
    """Settings are read lazily; read them now so a bad variable fails with one line."""
    import sys

    from market.lib.env import EnvError

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except EnvError as error:
        sys.stderr.write(f"Configuration error: {error}\n")
        sys.exit(2)
