"""Health incidents and hourly rollups, usage reports, and monthly statements."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.lib.models import TimeStampedModel


class Incident(TimeStampedModel):
    """A stretch of time a service was unhealthy enough to alert someone."""

    service = models.ForeignKey(
        "services.Service",
        on_delete=models.CASCADE,
        related_name="incidents",
        verbose_name=_("service"),
    )
    opened_at = models.DateTimeField(default=timezone.now, verbose_name=_("opened at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    reason = models.CharField(max_length=500, verbose_name=_("reason"))
    failed_checks = models.PositiveIntegerField(default=0, verbose_name=_("failed checks"))
    last_alert_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last alert at"))

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(closed_at__isnull=True),
                name="one_open_incident_per_service",
            )
        ]

    def __str__(self):
        return f"incident on {self.service.service_id} since {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class HealthRollup(models.Model):
    """One hour of health checks of one service: counts and latency percentiles."""

    service = models.ForeignKey(
        "services.Service",
        on_delete=models.CASCADE,
        related_name="health_rollups",
        verbose_name=_("service"),
    )
    hour = models.DateTimeField(help_text=_("Start of the hour (UTC)."), verbose_name=_("hour"))
    checks = models.PositiveIntegerField(default=0, verbose_name=_("checks"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures"))
    degraded = models.PositiveIntegerField(default=0, verbose_name=_("degraded"))
    latency_p50_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("latency p50 ms")
    )
    latency_p95_ms = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("latency p95 ms")
    )
    # Answered probes' latencies as {bucket upper bound in ms: count} (see monitoring/latency.py):
    # a few dozen numbers per hour that keep p50/p95 computable as the hour fills up.
    latency_histogram = models.JSONField(
        default=dict, blank=True, verbose_name=_("latency histogram")
    )

    class Meta:
        verbose_name = _("health rollup")
        verbose_name_plural = _("health rollups")
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(fields=["service", "hour"], name="one_rollup_per_service_hour")
        ]

    def __str__(self):
        return f"{self.service.service_id} {self.hour:%Y-%m-%d %H}:00 {self.failures}/{self.checks}"


class UsageReport(TimeStampedModel):
    """A tenant's usage for one month, as its service reported it (or why it could not)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        COLLECTED = "collected", _("Collected")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Not answered")

    class Failure(models.TextChoices):
        """What went wrong with a report that was not collected (the mail and staff say it)."""

        NONE = "", _("None")
        REFUSED = "refused", _("Refused")  # an HTTP 4xx answer
        MALFORMED = "malformed", _("Malformed")  # an answer that is not a usable report
        MISSING = "missing", _("Missing")  # no answer after every retry
        NOT_CALLED = "not_called", _("Not called")  # the market could not make the call

    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.CASCADE,
        related_name="usage_reports",
        verbose_name=_("tenant"),
    )
    month = models.DateField(
        help_text=_("First day of the month reported."), verbose_name=_("month")
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, verbose_name=_("state")
    )
    metrics = models.JSONField(default=dict, blank=True, verbose_name=_("metrics"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    collected_at = models.DateTimeField(null=True, blank=True, verbose_name=_("collected at"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    failure = models.CharField(
        _("failure"), max_length=16, choices=Failure.choices, default="", blank=True
    )

    class Meta:
        verbose_name = _("usage report")
        verbose_name_plural = _("usage reports")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month"], name="one_usage_report_per_tenant_month"
            )
        ]
        # The API's list order (newest month first, then id): a page reads its rows off the
        # index instead of sorting every report (240,000 at 20,000 tenants).
        indexes = [models.Index(fields=["-month", "id"], name="usage_report_month_id_idx")]

    def __str__(self):
        return f"usage of {self.tenant} for {self.month:%Y-%m}"


class Statement(TimeStampedModel):
    """A school's bill for one month; regenerating it gives the same lines."""

    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.CASCADE,
        related_name="statements",
        verbose_name=_("organization"),
    )
    month = models.DateField(help_text=_("First day of the month billed."), verbose_name=_("month"))
    currency = models.CharField(max_length=3, default="KRW", verbose_name=_("currency"))
    total = models.DecimalField(max_digits=14, decimal_places=0, default=0, verbose_name=_("total"))

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "organization__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month"], name="one_statement_per_school_month"
            )
        ]

    def __str__(self):
        return f"{self.organization} {self.month:%Y-%m}: {self.total} {self.currency}"


class StatementLine(models.Model):
    """One line of a statement: a plan's price for the days active, or a usage charge."""

    class Kind(models.TextChoices):
        PLAN = "plan", _("Plan")
        USAGE = "usage", _("Usage")

    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, related_name="lines", verbose_name=_("statement")
    )
    subscription = models.ForeignKey(
        "tenants.Subscription",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("subscription"),
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, verbose_name=_("kind"))
    description = models.CharField(max_length=300, verbose_name=_("description"))
    quantity = models.DecimalField(max_digits=18, decimal_places=4, verbose_name=_("quantity"))
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, verbose_name=_("unit price"))
    amount = models.DecimalField(max_digits=14, decimal_places=0, verbose_name=_("amount"))

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "id"]

    def __str__(self):
        return f"{self.description}: {self.amount}"


class SweepRun(models.Model):
    """One minute's health sweep: its unique minute is the lock that stops a second sweep."""

    minute = models.DateTimeField(
        help_text=_("Start of the minute swept (UTC)."), verbose_name=_("minute")
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    services = models.PositiveIntegerField(default=0, verbose_name=_("services"))
    chunks = models.PositiveIntegerField(default=0, verbose_name=_("chunks"))
    chunks_done = models.PositiveIntegerField(default=0, verbose_name=_("chunks done"))
    probes = models.PositiveIntegerField(default=0, verbose_name=_("probes"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")
        ordering = ["-minute"]
        constraints = [models.UniqueConstraint(fields=["minute"], name="one_sweep_per_minute")]

    def __str__(self):
        return f"sweep {self.minute:%Y-%m-%d %H:%M} ({self.chunks_done}/{self.chunks} chunks)"


class MonitoringCounter(models.Model):
    """A monotonic total for /monitoring/metrics (Prometheus counters must never go down)."""

    name = models.CharField(max_length=64, unique=True, verbose_name=_("name"))
    value = models.BigIntegerField(default=0, verbose_name=_("value"))

    class Meta:
        verbose_name = _("monitoring counter")
        verbose_name_plural = _("monitoring counters")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} = {self.value}"
