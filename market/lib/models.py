"""Model building blocks shared by every app."""

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """Abstract base: when a row was created (settable in tests) and last changed."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
