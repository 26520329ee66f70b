"""Build the vendor client's target for a service from what the database holds."""

from django.utils import timezone

from services.models import Service, ServiceCredential
from services.vendor_client.client import VendorClient, VendorTarget


def valid_credentials(service: Service, *, now=None) -> list[ServiceCredential]:
    """The current credential first, then older ones still inside their overlap window."""
    now = now or timezone.now()
    credentials = [c for c in service.credentials.all() if c.is_valid_at(now)]
    return sorted(credentials, key=lambda c: (c.expires_at is not None, -c.created_at.timestamp()))


def target_from_manifest(*, service_id: str, manifest: dict, credentials=()) -> VendorTarget:
    endpoints = dict(manifest.get("endpoints") or {})
    auth = manifest.get("auth") or {}
    current = credentials[0] if credentials else None
    return VendorTarget(
        service_id=service_id,
        base_url=endpoints.pop("base_url", ""),
        endpoints=endpoints,
        auth_type=auth.get("type", "api_key"),
        auth_header=auth.get("header") or "X-Market-API-Key",
        token_url=auth.get("token_url", ""),
        oauth_client_id=auth.get("client_id", service_id),
        oauth_scope=auth.get("scope", ""),
        api_key=current.api_key if current else "",
        signing_secrets=[c.signing_secret for c in credentials],
        oauth_client_secret=current.oauth_client_secret if current else "",
    )


def vendor_target(service: Service) -> VendorTarget:
    return target_from_manifest(
        service_id=service.service_id,
        manifest=service.manifest_data,
        credentials=valid_credentials(service),
    )


def client_for(service: Service) -> VendorClient:
    return VendorClient(vendor_target(service))
