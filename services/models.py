"""Vendors, their services, every manifest version they submitted, plans, credentials, conformance."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.lib.crypto import EncryptedTextField
from market.lib.models import TimeStampedModel


class Vendor(TimeStampedModel):
    """A company or lab that offers services through the market."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(max_length=64, unique=True, verbose_name=_("slug"))
    contact_email = models.EmailField(_("contact e-mail"))
    website = models.URLField(_("website"), blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status")
    )

    class Meta:
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Service(TimeStampedModel):
    """One vendor service as the market knows it, with its current manifest and health."""

    class Status(models.TextChoices):
        PENDING_REVIEW = "pending_review", _("Pending review")
        LISTED = "listed", _("Listed")
        UNLISTED = "unlisted", _("Unlisted")
        SUSPENDED = "suspended", _("Suspended")

    class Health(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        HEALTHY = "healthy", _("Healthy")
        DEGRADED = "degraded", _("Degraded")
        UNHEALTHY = "unhealthy", _("Unhealthy")

    vendor = models.ForeignKey(
        Vendor, on_delete=models.PROTECT, related_name="services", verbose_name=_("vendor")
    )
    service_id = models.SlugField(
        _("service id"), max_length=64, unique=True, help_text=_("The manifest's service.id.")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING_REVIEW,
        verbose_name=_("status"),
    )
    current_manifest = models.ForeignKey(
        "Manifest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current manifest"),
    )
    base_url = models.URLField(_("base URL"), max_length=500)
    # Health: the current state lives here; history is only incidents and hourly rollups.
    health = models.CharField(
        max_length=16, choices=Health.choices, default=Health.UNKNOWN, verbose_name=_("health")
    )
    health_checked_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("health checked at")
    )
    health_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("health changed at")
    )
    health_latency_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("health latency ms")
    )
    health_reason = models.CharField(max_length=500, blank=True, verbose_name=_("health reason"))
    consecutive_failures = models.PositiveIntegerField(
        default=0, verbose_name=_("consecutive failures")
    )
    usage_noncompliant_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Set when mandatory usage reports are not answered."),
        verbose_name=_("usage noncompliant since"),
    )

    class ListedVia(models.TextChoices):
        """How a listed service got listed (docs/standard/listing.md)."""

        NOT_LISTED = "", _("Not listed yet")
        GATE = "gate", _("Passed the listing checklist")
        STAFF = "staff", _("Approved by staff")
        GRANDFATHERED = "grandfathered", _("Listed before the listing checklist")

    listed_via = models.CharField(
        _("listed via"), max_length=16, choices=ListedVia.choices, default="", blank=True
    )

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]
        indexes = [models.Index(fields=["status", "health"], name="service_status_health_idx")]

    def __str__(self):
        return f"{self.name} ({self.service_id})"

    @property
    def manifest_data(self) -> dict:
        return self.current_manifest.data if self.current_manifest_id else {}


class Manifest(models.Model):
    """One submitted manifest version: immutable raw text, parsed data and validation result."""

    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="manifests",
        verbose_name=_("service"),
    )
    vendor = models.ForeignKey(
        Vendor, on_delete=models.CASCADE, related_name="manifests", verbose_name=_("vendor")
    )
    number = models.PositiveIntegerField(_("version number"), default=1)
    raw_text = models.TextField(verbose_name=_("raw text"))
    data = models.JSONField(null=True, blank=True, verbose_name=_("data"))
    is_valid = models.BooleanField(default=False, verbose_name=_("is valid"))
    errors = models.JSONField(default=list, blank=True, verbose_name=_("errors"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("manifest")
        verbose_name_plural = _("manifests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "number"], name="manifest_number_unique_per_service"
            )
        ]

    def __str__(self):
        owner = self.service.service_id if self.service_id else self.vendor.slug
        return f"{owner} manifest #{self.number}"

    @property
    def declared_version(self) -> str:
        return ((self.data or {}).get("service") or {}).get("version", "")


class Plan(TimeStampedModel):
    """A plan of a service as the current manifest declares it; retired plans are kept inactive."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="plans", verbose_name=_("service")
    )
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    features = models.JSONField(default=list, blank=True, verbose_name=_("features"))
    price = models.DecimalField(_("price per period"), max_digits=12, decimal_places=0, default=0)
    currency = models.CharField(max_length=3, default="KRW", verbose_name=_("currency"))
    billing_period = models.CharField(
        max_length=16, default="monthly", verbose_name=_("billing period")
    )
    max_users = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("max users"))
    storage_limit_gb = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("storage limit gb")
    )
    unit_prices = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Price per unit of a usage metric, e.g. {"ai_tokens": 0.01}.'),
        verbose_name=_("unit prices"),
    )
    allowed_changes = models.JSONField(default=list, blank=True, verbose_name=_("allowed changes"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    price_set = models.BooleanField(
        _("price set"),
        default=False,
        help_text=_("The manifest declares this plan's price, or staff set it."),
    )
    overage_prices = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Price per unit over the limits: {"active_users": 1000, "storage_gb": 500}.'),
        verbose_name=_("overage prices"),
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["service", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="plan_code_unique_per_service")
        ]

    def __str__(self):
        return f"{self.service.service_id}:{self.code}"


class ServiceCredential(TimeStampedModel):
    """The API key and signing secret the market uses with one service; old ones overlap on rotation."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="credentials", verbose_name=_("service")
    )
    api_key = EncryptedTextField(verbose_name=_("api key"))
    signing_secret = EncryptedTextField(verbose_name=_("signing secret"))
    oauth_client_secret = EncryptedTextField(
        blank=True, default="", verbose_name=_("oauth client secret")
    )
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Set when a newer credential replaces this one."),
        verbose_name=_("expires at"),
    )

    class Meta:
        verbose_name = _("service credential")
        verbose_name_plural = _("service credentials")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(expires_at__isnull=True),
                name="one_current_credential_per_service",
            )
        ]

    def __str__(self):
        return f"credential of {self.service.service_id} from {self.created_at:%Y-%m-%d %H:%M}"

    def is_valid_at(self, moment) -> bool:
        return self.expires_at is None or self.expires_at > moment


class ConformanceRun(TimeStampedModel):
    """One run of the conformance kit against a service, with its report."""

    class Result(models.TextChoices):
        RUNNING = "running", _("Running")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Failed")
        ERROR = "error", _("Could not run")

    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        related_name="conformance_runs",
        verbose_name=_("service"),
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    result = models.CharField(
        max_length=16, choices=Result.choices, default=Result.RUNNING, verbose_name=_("result")
    )
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    passed_count = models.PositiveIntegerField(default=0, verbose_name=_("passed count"))
    failed_count = models.PositiveIntegerField(default=0, verbose_name=_("failed count"))
    skipped_count = models.PositiveIntegerField(default=0, verbose_name=_("skipped count"))
    report = models.JSONField(default=dict, blank=True, verbose_name=_("report"))

    class Meta:
        verbose_name = _("conformance run")
        verbose_name_plural = _("conformance runs")
        ordering = ["-created_at"]

    def __str__(self):
        return f"conformance of {self.service.service_id} at {self.created_at:%Y-%m-%d %H:%M}: {self.result}"


class CatalogLabel(TimeStampedModel):
    """A display label staff set for a feature or category code, over any manifest's label."""

    class Kind(models.TextChoices):
        FEATURE = "feature", _("Feature")
        CATEGORY = "category", _("Category")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    code = models.CharField(
        _("code"), max_length=64, help_text=_("As manifests write it, e.g. ai_chat or tutoring.")
    )
    label_ko = models.CharField(_("Korean label"), max_length=100)
    label_en = models.CharField(_("English label"), max_length=100)

    class Meta:
        verbose_name = _("catalog label")
        verbose_name_plural = _("catalog labels")
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="catalog_label_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code}"
