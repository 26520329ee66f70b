"""Schools, their subscriptions, the tenants vendors host for them, and every call made for them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from market.lib.crypto import EncryptedTextField
from market.lib.models import TimeStampedModel


class Organization(TimeStampedModel):
    """A school (or university) that subscribes to services."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(
        _("tenant id"),
        max_length=64,
        unique=True,
        help_text=_("Sent to vendors as tenant_id, e.g. hallym_univ."),
    )
    contact_email = models.EmailField(_("contact e-mail"))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subscription(TimeStampedModel):
    """A school's subscription to one plan of one service for a period."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        CANCELLED = "cancelled", _("Cancelled")

    LIVE_STATUSES = (Status.ACTIVE,)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="subscriptions"
    )
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="subscriptions"
    )
    plan = models.ForeignKey(
        "services.Plan", on_delete=models.PROTECT, related_name="subscriptions"
    )
    tenant = models.ForeignKey(
        "Tenant", on_delete=models.PROTECT, null=True, blank=True, related_name="subscriptions"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    max_users = models.PositiveIntegerField(_("max users"))
    storage_limit_gb = models.PositiveIntegerField(_("storage limit (GB)"))
    admin_email = models.EmailField(_("service admin e-mail"))
    admin_name = models.CharField(_("service admin name"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    expiry_notice_sent_at = models.DateTimeField(null=True, blank=True)
    renewal_notice_sent_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "service"],
                condition=Q(status="active"),
                name="one_live_subscription_per_school_and_service",
            ),
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="subscription_idempotency_key_unique_per_school",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gt=models.F("starts_on")), name="subscription_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["status", "ends_on"], name="subscription_status_end_idx")]

    def __str__(self):
        return f"{self.organization} → {self.service.service_id} ({self.plan.code})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    def is_expiring(self, *, within_days: int, today=None) -> bool:
        today = today or timezone.localdate()
        return self.is_live and 0 <= (self.ends_on - today).days <= within_days


class Tenant(TimeStampedModel):
    """The vendor-side instance of one school in one service; it outlives each subscription."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ACTIVATING = "activating", _("Activating")
        ACTIVE = "active", _("Active")
        UPDATING = "updating", _("Updating")
        DEACTIVATING = "deactivating", _("Deactivating")
        DEACTIVATED = "deactivated", _("Deactivated")
        REACTIVATING = "reactivating", _("Reactivating")
        PURGING = "purging", _("Purging")
        PURGED = "purged", _("Purged")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="tenants")
    service = models.ForeignKey(
        "services.Service", on_delete=models.PROTECT, related_name="tenants"
    )
    tenant_id = models.SlugField(_("tenant id"), max_length=64)
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    state_changed_at = models.DateTimeField(default=timezone.now)
    attention_reason = models.TextField(blank=True)
    plan_code = models.CharField(
        max_length=64, blank=True, help_text=_("The plan the vendor runs.")
    )
    isolation = models.CharField(max_length=32, blank=True)
    access_url = models.URLField(_("access URL"), max_length=500, blank=True)
    temp_password = EncryptedTextField(blank=True, default="")
    credentials_emailed_by_vendor = models.BooleanField(default=False)
    credentials_revealed_at = models.DateTimeField(null=True, blank=True)
    data_preserved = models.BooleanField(null=True, blank=True)
    reactivation_deadline = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    last_status = models.JSONField(
        null=True, blank=True, help_text=_("The vendor's last status answer.")
    )
    last_status_at = models.DateTimeField(null=True, blank=True)
    drifted = models.BooleanField(default=False)
    drift_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["organization__name", "service__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "tenant_id"], name="tenant_id_unique_per_service"
            ),
            models.UniqueConstraint(
                fields=["service", "organization"], name="one_tenant_per_school_and_service"
            ),
        ]
        indexes = [models.Index(fields=["state"], name="tenant_state_idx")]

    def __str__(self):
        return f"{self.tenant_id}@{self.service.service_id}"


class Operation(TimeStampedModel):
    """One call the market owes a vendor (the outbox): written with the change that needs it."""

    class Kind(models.TextChoices):
        ACTIVATE = "activate", _("Activate")
        DEACTIVATE = "deactivate", _("Deactivate")
        UPDATE = "update", _("Update plan")
        STATUS = "status", _("Sync status")
        DELETE = "delete", _("Purge")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        IN_FLIGHT = "in_flight", _("In flight")
        POLLING = "polling", _("Waiting for the vendor")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")
        CANCELLED = "cancelled", pgettext_lazy("an operation", "Cancelled")

    OPEN_STATES = (State.QUEUED, State.IN_FLIGHT, State.POLLING)

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="operations")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="operations"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the current attempt began.")
    )
    first_failure_at = models.DateTimeField(null=True, blank=True)
    polling_since = models.DateTimeField(
        null=True, blank=True, help_text=_("When the vendor accepted the call with 202.")
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    waiting_for_slot_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When it found its service's concurrent calls at the cap; it goes out when a call of "
            "that service finishes."
        ),
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_body_excerpt = models.TextField(blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=32, blank=True)
    last_error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(state="in_flight"),
                name="one_operation_in_flight_per_tenant",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="operation_due_idx"),
            models.Index(
                fields=["waiting_for_slot_since"],
                condition=Q(waiting_for_slot_since__isnull=False),
                name="operation_waiting_for_slot_idx",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.tenant} [{self.state}]"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class LifecycleEvent(models.Model):
    """The audit log: who or what did what to a tenant, when, and with which result."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    operation = models.ForeignKey(
        Operation, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100, help_text=_("e.g. a user name or system:beat"))
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="event_tenant_time_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.tenant}: {self.kind}"
