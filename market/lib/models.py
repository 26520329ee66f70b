"""Model building blocks shared by every app."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Abstract base: when a row was created (settable in tests) and last changed."""

    created_at = models.DateTimeField(
        default=timezone.now, editable=False, db_index=True, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True
