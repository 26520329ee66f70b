"""The market's one typed event log: append-only, written in the transaction of its change."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One state change the market made or observed; `id` is monotonic and orders cursors."""

    class ActorKind(models.TextChoices):
        USER = "user", _("User")
        TOKEN = "token", _("API token")
        JOB = "job", _("Scheduled job")
        SYSTEM = "system", _("System")

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(_("type"), max_length=64, db_index=True)
    schema_version = models.PositiveSmallIntegerField(default=1)
    # The objects the event concerns, as plain ids: the log outlives the rows it names, and
    # the core must not depend on the apps above it.
    organization_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    vendor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    service_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    subscription_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    tenant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=150)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Transactional outbox: set once subscribers (webhooks) have taken the event.
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(published_at__isnull=True), name="event_unpublished_idx"
            ),
        ]

    def __str__(self):
        return f"{self.type} #{self.pk}"
