"""Webhook endpoints registered by staff, schools and vendors, and every delivery made to them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.lib.crypto import EncryptedTextField
from market.lib.models import TimeStampedModel


class Endpoint(TimeStampedModel):
    """A URL that receives the events its owner may see, signed per Standard Webhooks."""

    class Owner(models.TextChoices):
        STAFF = "staff", _("Market staff")
        ORGANIZATION = "organization", _("One school")
        VENDOR = "vendor", _("One vendor")

    owner_kind = models.CharField(max_length=16, choices=Owner.choices)
    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
    )
    vendor = models.ForeignKey(
        "services.Vendor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("event types"), default=list, help_text=_('The event types sent; ["*"] for all.')
    )
    secret = EncryptedTextField(editable=False)
    previous_secret = EncryptedTextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(owner_kind="staff", organization__isnull=True, vendor__isnull=True)
                    | Q(owner_kind="organization", organization__isnull=False, vendor__isnull=True)
                    | Q(owner_kind="vendor", organization__isnull=True, vendor__isnull=False)
                ),
                name="webhook_endpoint_owner_matches_kind",
            ),
        ]

    def __str__(self):
        return self.url

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one
        during its overlap window."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and (self.previous_secret_expires_at > now)
        ):
            secrets.append(self.previous_secret)
        return secrets

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


class Delivery(TimeStampedModel):
    """One event for one endpoint: a Standard Webhooks message, retried under one id."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_FLIGHT = "in_flight", _("Sending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Gave up")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=64, unique=True, editable=False)
    # Deliveries with the same non-empty key go to one endpoint in event order.
    ordering_key = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="one_delivery_per_endpoint_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "in_flight"]),
                name="delivery_open_due_idx",
            ),
            models.Index(fields=["endpoint", "ordering_key", "event"], name="delivery_order_idx"),
        ]

    def __str__(self):
        return f"{self.message_id} → {self.endpoint}"

    @staticmethod
    def new_message_id() -> str:
        return f"msg_{uuid.uuid4().hex}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: what was sent, what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    manual = models.BooleanField(default=False, help_text=_("Sent again on request."))
    started_at = models.DateTimeField(default=timezone.now)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error_kind = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
