"""Accounts, integrator API tokens and the market-wide policy."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.lib.models import TimeStampedModel


class User(AbstractUser):
    """A person: market staff (is_staff), a member of one vendor, or an admin of one school."""

    class Role(models.TextChoices):
        STAFF = "staff", _("Market staff")
        VENDOR = "vendor", _("Vendor user")
        SCHOOL = "school", _("School admin")
        NONE = "none", _("No role")

    vendor = models.ForeignKey(
        "services.Vendor",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("vendor"),
    )
    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="admins",
        verbose_name=_("organization"),
    )
    preferred_language = models.CharField(
        max_length=8,
        choices=[("ko", "한국어"), ("en", "English")],
        default="ko",
        verbose_name=_("preferred language"),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(vendor__isnull=True) | Q(organization__isnull=True),
                name="user_belongs_to_vendor_or_school_not_both",
            ),
        ]

    @property
    def role(self) -> str:
        if self.is_staff:
            return self.Role.STAFF
        if self.vendor_id:
            return self.Role.VENDOR
        if self.organization_id:
            return self.Role.SCHOOL
        return self.Role.NONE


class MarketPolicy(TimeStampedModel):
    """The one editable record of market-wide policy; change it here, never in the services."""

    class IsolationPreference(models.TextChoices):
        SERVICE_DEFAULT = "service_default", _("Use the service's default")
        DATABASE_PER_TENANT = "DATABASE_PER_TENANT", _("Prefer database per tenant")
        DOCKER_PER_TENANT = "DOCKER_PER_TENANT", _("Prefer Docker per tenant")

    singleton = models.BooleanField(
        default=True, editable=False, unique=True, verbose_name=_("singleton")
    )
    require_staff_approval = models.BooleanField(
        _("new services need staff approval"), default=False
    )
    require_conformance = models.BooleanField(
        _("new services need a passing conformance run"), default=True
    )
    usage_reports_mandatory = models.BooleanField(_("usage reports are mandatory"), default=False)
    preserve_data_on_expiry = models.BooleanField(_("preserve data on expiry"), default=True)
    expiry_notice_days = models.PositiveSmallIntegerField(
        _("expiry notice (days before)"), default=7
    )
    data_retention_days = models.PositiveSmallIntegerField(
        _("data retention after deactivation (days)"),
        default=90,
        help_text=_("Used when the vendor does not return a reactivation deadline."),
    )
    isolation_preference = models.CharField(
        max_length=32,
        choices=IsolationPreference.choices,
        default=IsolationPreference.SERVICE_DEFAULT,
        verbose_name=_("isolation preference"),
    )
    incident_threshold = models.PositiveSmallIntegerField(
        _("consecutive unhealthy checks that open an incident"), default=3
    )
    incident_realert_minutes = models.PositiveIntegerField(
        _("minimum minutes between alerts for one service"), default=60
    )
    credential_overlap_hours = models.PositiveIntegerField(
        _("hours old credentials stay valid after rotation"), default=24
    )

    class Meta:
        verbose_name = _("market policy")
        verbose_name_plural = _("market policy")
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="market_policy_is_singleton")
        ]

    def __str__(self):
        return str(_("Market policy"))

    @classmethod
    def load(cls) -> "MarketPolicy":
        policy, _created = cls.objects.get_or_create(singleton=True)
        return policy


class ApiToken(TimeStampedModel):
    """An integrator's bearer token, scoped to staff, one school or one vendor; only its hash is kept."""

    class Scope(models.TextChoices):
        STAFF = "staff", _("Market staff")
        ORGANIZATION = "organization", _("One school")
        VENDOR = "vendor", _("One vendor")

    name = models.CharField(max_length=100, verbose_name=_("name"))
    scope = models.CharField(max_length=16, choices=Scope.choices, verbose_name=_("scope"))
    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_tokens",
        verbose_name=_("organization"),
    )
    vendor = models.ForeignKey(
        "services.Vendor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_tokens",
        verbose_name=_("vendor"),
    )
    created_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="api_tokens",
        verbose_name=_("created by"),
    )
    prefix = models.CharField(
        max_length=16,
        unique=True,
        help_text=_("Shown to identify the token."),
        verbose_name=_("prefix"),
    )
    key_hash = models.CharField(
        max_length=128, unique=True, editable=False, verbose_name=_("key hash")
    )
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last used at")
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="staff", organization__isnull=True, vendor__isnull=True)
                    | Q(scope="organization", organization__isnull=False, vendor__isnull=True)
                    | Q(scope="vendor", organization__isnull=True, vendor__isnull=False)
                ),
                name="api_token_scope_matches_owner",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now
