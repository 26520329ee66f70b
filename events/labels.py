"""Display labels of the event types (Korean and English through the catalogs)."""

from django.utils.translation import gettext_lazy as _

TYPE_LABELS = {
    "subscription.created": _("Subscription created"),
    "subscription.renewed": _("Subscription renewed"),
    "subscription.plan_changed": _("Plan changed"),
    "subscription.cancelled": _("Subscription cancelled"),
    "subscription.ended": _("Subscription ended"),
    "tenant.activation_requested": _("Activation requested"),
    "tenant.activated": _("Tenant activated"),
    "tenant.reactivated": _("Tenant reactivated"),
    "tenant.activation_failed": _("Activation failed"),
    "tenant.needs_attention": _("Tenant needs attention"),
    "tenant.deactivated": _("Tenant deactivated"),
    "tenant.purged": _("Tenant data purged"),
    "tenant.drifted": _("Vendor status differs"),
    "service.registered": _("Service registered"),
    "service.listed": _("Service listed"),
    "service.unlisted": _("Service unlisted"),
    "service.credentials_rotated": _("Credentials rotated"),
    "service.manifest_updated": _("New manifest version"),
    "incident.opened": _("Incident opened"),
    "incident.resolved": _("Incident resolved"),
    "usage.collected": _("Usage collected"),
    "usage.rejected": _("Usage rejected"),
    "statement.issued": _("Statement issued"),
    "webhook_endpoint.disabled": _("Webhook endpoint disabled"),
    "webhook.test": _("Test event"),
}

ACTOR_LABELS = {
    "user": _("User"),
    "token": _("API token"),
    "job": _("Scheduled job"),
    "system": _("System"),
}


def type_label(name: str) -> str:
    return str(TYPE_LABELS.get(name, name))
