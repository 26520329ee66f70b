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
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
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
        Organization,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("organization"),
    )
    service = models.ForeignKey(
        "services.Service",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("service"),
    )
    plan = models.ForeignKey(
        "services.Plan",
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name=_("plan"),
    )
    tenant = models.ForeignKey(
        "Tenant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("tenant"),
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    max_users = models.PositiveIntegerField(_("max users"))
    storage_limit_gb = models.PositiveIntegerField(_("storage limit (GB)"))
    admin_email = models.EmailField(_("service admin e-mail"))
    admin_name = models.CharField(_("service admin name"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    idempotency_key = models.CharField(
        max_length=255, blank=True, default="", verbose_name=_("idempotency key")
    )
    expiry_notice_sent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("expiry notice sent at")
    )
    renewal_notice_sent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("renewal notice sent at")
    )
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    # The plan's terms when the school subscribed: what it agreed to pay (docs/billing.md).
    price = models.DecimalField(_("price per period"), max_digits=12, decimal_places=0, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="KRW")
    billing_period = models.CharField(_("billing period"), max_length=16, default="monthly")
    unit_prices = models.JSONField(_("unit prices"), default=dict, blank=True)
    overage_prices = models.JSONField(_("overage prices"), default=dict, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
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

    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="tenants",
        verbose_name=_("organization"),
    )
    service = models.ForeignKey(
        "services.Service",
        on_delete=models.PROTECT,
        related_name="tenants",
        verbose_name=_("service"),
    )
    tenant_id = models.SlugField(_("tenant id"), max_length=64)
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.REQUESTED, verbose_name=_("state")
    )
    state_changed_at = models.DateTimeField(
        default=timezone.now, verbose_name=_("state changed at")
    )
    attention_reason = models.TextField(blank=True, verbose_name=_("attention reason"))
    plan_code = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The plan the vendor runs."),
        verbose_name=_("plan code"),
    )
    isolation = models.CharField(max_length=32, blank=True, verbose_name=_("isolation"))
    access_url = models.URLField(_("access URL"), max_length=500, blank=True)
    temp_password = EncryptedTextField(blank=True, default="", verbose_name=_("temp password"))
    credentials_emailed_by_vendor = models.BooleanField(
        default=False, verbose_name=_("credentials emailed by vendor")
    )
    credentials_revealed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("credentials revealed at")
    )
    data_preserved = models.BooleanField(null=True, blank=True, verbose_name=_("data preserved"))
    reactivation_deadline = models.DateTimeField(
        null=True, blank=True, verbose_name=_("reactivation deadline")
    )
    purged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("purged at"))
    last_status = models.JSONField(
        null=True,
        blank=True,
        help_text=_("The vendor's last status answer."),
        verbose_name=_("last status"),
    )
    last_status_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last status at"))
    drifted = models.BooleanField(default=False, verbose_name=_("drifted"))
    drift_reason = models.CharField(max_length=500, blank=True, verbose_name=_("drift reason"))

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
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

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="operations", verbose_name=_("tenant")
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="operations",
        verbose_name=_("subscription"),
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    payload = models.JSONField(default=dict, blank=True, verbose_name=_("payload"))
    request_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("request id")
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.QUEUED, verbose_name=_("state")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the current attempt began."),
        verbose_name=_("started at"),
    )
    first_failure_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("first failure at")
    )
    polling_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the vendor accepted the call with 202."),
        verbose_name=_("polling since"),
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    waiting_for_slot_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When it found its service's concurrent calls at the cap; it goes out when a call of "
            "that service finishes."
        ),
        verbose_name=_("waiting for slot since"),
    )
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("last status code")
    )
    last_body_excerpt = models.TextField(blank=True, verbose_name=_("last body excerpt"))
    last_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("last latency ms")
    )
    last_error_kind = models.CharField(max_length=32, blank=True, verbose_name=_("last error kind"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )

    class Meta:
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
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


def plan_terms(plan) -> dict:
    """The plan's prices as a subscription or a plan change snapshots them when accepted."""
    return {
        "price": plan.price,
        "currency": plan.currency,
        "billing_period": plan.billing_period,
        "unit_prices": {metric: str(price) for metric, price in (plan.unit_prices or {}).items()},
        "overage_prices": {
            metric: str(price) for metric, price in (plan.overage_prices or {}).items()
        },
    }


class TenantStateChange(models.Model):
    """One move of a tenant's state, when it happened: what bills count delivered days from."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="state_changes", verbose_name=_("tenant")
    )
    previous = models.CharField(_("previous state"), max_length=20, blank=True)
    state = models.CharField(_("new state"), max_length=20, choices=Tenant.State.choices)
    at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("tenant state change")
        verbose_name_plural = _("tenant state changes")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["tenant", "at"], name="state_change_tenant_at_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.tenant_id}: {self.previous} → {self.state}"


class PlanChange(models.Model):
    """A plan change the school asked for, with the new plan's terms as they were then.

    ``effective_at`` is set when the vendor applied it; from that local day on, the
    subscription is billed at this change's ``price``.
    """

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="plan_changes",
        verbose_name=_("subscription"),
    )
    operation = models.OneToOneField(
        Operation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plan_change",
        verbose_name=_("operation"),
    )
    from_plan = models.ForeignKey(
        "services.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("from plan")
    )
    to_plan = models.ForeignKey(
        "services.Plan", on_delete=models.PROTECT, related_name="+", verbose_name=_("to plan")
    )
    price = models.DecimalField(_("price per period"), max_digits=12, decimal_places=0)
    currency = models.CharField(_("currency"), max_length=3, default="KRW")
    billing_period = models.CharField(_("billing period"), max_length=16, default="monthly")
    unit_prices = models.JSONField(_("unit prices"), default=dict, blank=True)
    overage_prices = models.JSONField(_("overage prices"), default=dict, blank=True)
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    effective_at = models.DateTimeField(_("effective at"), null=True, blank=True)

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering = ["requested_at", "id"]

    def __str__(self):
        return f"{self.subscription_id}: {self.from_plan_id} → {self.to_plan_id}"


class LifecycleEvent(models.Model):
    """The audit log: who or what did what to a tenant, when, and with which result."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="events", verbose_name=_("tenant")
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("subscription"),
    )
    operation = models.ForeignKey(
        Operation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("operation"),
    )
    kind = models.CharField(max_length=64, verbose_name=_("kind"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(
        max_length=100,
        help_text=_("e.g. a user name or system:beat"),
        verbose_name=_("actor label"),
    )
    message = models.TextField(verbose_name=_("message"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("data"))
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("lifecycle event")
        verbose_name_plural = _("lifecycle events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="event_tenant_time_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.tenant}: {self.kind}"
