"""The market as an LTI 1.3 platform: tool registrations, deployments, logins, registration tokens."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.lib.models import TimeStampedModel


def new_client_id() -> str:
    return f"mkt-{secrets.token_urlsafe(18)}"


def new_deployment_id() -> str:
    return f"dep-{secrets.token_urlsafe(12)}"


def new_login_handle() -> str:
    return secrets.token_urlsafe(32)


class Tool(TimeStampedModel):
    """One service registered as an LTI 1.3 tool; the market issued its client_id."""

    class Source(models.TextChoices):
        MANIFEST = "manifest", _("The manifest's lti block")
        DYNAMIC = "dynamic", _("LTI Dynamic Registration")

    service = models.OneToOneField(
        "services.Service", on_delete=models.CASCADE, related_name="lti_tool"
    )
    client_id = models.CharField(max_length=64, unique=True, default=new_client_id)
    source = models.CharField(max_length=16, choices=Source.choices)
    name = models.CharField(max_length=200, blank=True)
    login_initiation_url = models.URLField(max_length=500)
    target_link_uri = models.URLField(max_length=500)
    redirect_uris = models.JSONField(default=list)
    jwks_url = models.URLField(max_length=500, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    registration = models.JSONField(
        null=True, blank=True, help_text=_("The tool's Dynamic Registration request, as sent.")
    )

    class Meta:
        verbose_name = _("LTI tool")

    def __str__(self):
        return f"{self.service.service_id} ({self.client_id})"


class Deployment(TimeStampedModel):
    """The tool deployed for one school: one deployment_id per tenant."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="deployments")
    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="lti_deployment"
    )
    deployment_id = models.CharField(max_length=64, unique=True, default=new_deployment_id)

    class Meta:
        verbose_name = _("LTI deployment")

    def __str__(self):
        return f"{self.deployment_id} ({self.tenant.tenant_id})"


class Login(TimeStampedModel):
    """One third-party initiated login: the handle sent as lti_message_hint, used at most once."""

    handle = models.CharField(max_length=64, unique=True, default=new_login_handle)
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="logins")
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="logins")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_logins"
    )
    target_link_uri = models.URLField(max_length=500)
    expires_at = models.DateTimeField(db_index=True)
    nonce = models.CharField(max_length=255, null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("LTI login")
        constraints = [
            models.UniqueConstraint(
                fields=["tool", "nonce"],
                condition=Q(nonce__isnull=False),
                name="lti_login_nonce_once_per_tool",
            ),
        ]

    def __str__(self):
        return f"login {self.pk} of {self.user_id} to {self.tool_id}"

    def is_expired(self, *, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at


class RegistrationToken(TimeStampedModel):
    """A one-time bearer token that lets one tool register itself for one service."""

    service = models.ForeignKey(
        "services.Service", on_delete=models.CASCADE, related_name="lti_registration_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    initiation_url = models.URLField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("LTI registration token")

    def __str__(self):
        return f"registration token for {self.service_id}"


class AccessToken(TimeStampedModel):
    """A tool's bearer token for the LTI services (client_credentials); only its hash is kept."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="access_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    assertion_jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("LTI access token")
        constraints = [
            models.UniqueConstraint(
                fields=["tool", "assertion_jti"], name="lti_client_assertion_used_once"
            ),
        ]

    def __str__(self):
        return f"access token of {self.tool_id} until {self.expires_at:%Y-%m-%d %H:%M}"
