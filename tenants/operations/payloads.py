"""The bodies the market sends vendors, exactly the seed's shapes plus documented additions."""

from datetime import datetime

from market.models import MarketPolicy
from services.models import Plan, Service
from tenants.models import Subscription, Tenant


def choose_isolation(service: Service, policy: MarketPolicy) -> str:
    """The policy's preferred isolation when the service supports it, else the service default."""
    isolation = service.manifest_data.get("isolation") or {}
    supported = isolation.get("supported") or []
    preferred = policy.isolation_preference
    if preferred in supported:
        return preferred
    return isolation.get("default") or (supported[0] if supported else "")


def activation_payload(
    *, subscription: Subscription, tenant: Tenant, isolation: str, reactivation: bool = False
) -> dict:
    payload = {
        "tenant_id": tenant.tenant_id,
        "reactivation": reactivation,  # v1.1: the tenant's kept data comes back; vendors may ignore
        "tenant_name": subscription.organization.name,
        "plan": subscription.plan.code,
        "features": list(subscription.plan.features),
        "config": {
            "max_users": subscription.max_users,
            "storage_limit_gb": subscription.storage_limit_gb,
        },
        "admin": {"email": subscription.admin_email, "name": subscription.admin_name},
        "subscription_id": str(subscription.pk),
    }
    if isolation:
        payload["isolation"] = isolation
    return payload


def deactivation_payload(*, reason: str, preserve_data: bool, deactivate_at: datetime) -> dict:
    return {
        "reason": reason,
        "preserve_data": preserve_data,
        "deactivate_at": deactivate_at.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }


def update_payload(*, plan: Plan, subscription: Subscription) -> dict:
    return {
        "plan": plan.code,
        "features": list(plan.features),
        "config": {
            "max_users": subscription.max_users,
            "storage_limit_gb": subscription.storage_limit_gb,
        },
    }


def delete_payload() -> dict:
    return {"reason": "retention_expired"}
