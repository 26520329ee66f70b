"""Objects as they are now, in the shapes of `registry.OBJECT_SCHEMAS`.

Read by attribute (duck typing): the event log is core-level and imports no model of the apps
above it, which pass their own objects in.
"""

from __future__ import annotations

from datetime import date, datetime


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


def _month(value: date) -> str:
    return f"{value:%Y-%m}"


def subscription(obj) -> dict:
    return {
        "id": obj.pk,
        "organization_id": obj.organization_id,
        "service_id": obj.service_id,
        "tenant_id": obj.tenant_id,
        "plan": obj.plan.code,
        "status": obj.status,
        "starts_on": _iso(obj.starts_on),
        "ends_on": _iso(obj.ends_on),
        "max_users": obj.max_users,
        "storage_limit_gb": obj.storage_limit_gb,
    }


def tenant(obj) -> dict:
    return {
        "id": obj.pk,
        "tenant_id": obj.tenant_id,
        "organization_id": obj.organization_id,
        "service_id": obj.service_id,
        "state": obj.state,
        "plan": obj.plan_code,
        "access_url": obj.access_url,
        "data_preserved": obj.data_preserved,
        "reactivation_deadline": _iso(obj.reactivation_deadline),
        "attention_reason": obj.attention_reason[:500],
        "drift_reason": obj.drift_reason,
    }


def service(obj) -> dict:
    manifest = obj.current_manifest if obj.current_manifest_id else None
    return {
        "id": obj.pk,
        "service_id": obj.service_id,
        "vendor_id": obj.vendor_id,
        "name": obj.name,
        "status": obj.status,
        "base_url": obj.base_url,
        "manifest_version": getattr(manifest, "number", None),
    }


def incident(obj) -> dict:
    return {
        "id": obj.pk,
        "service_id": obj.service_id,
        "opened_at": _iso(obj.opened_at),
        "closed_at": _iso(obj.closed_at),
        "reason": obj.reason,
        "failed_checks": obj.failed_checks,
    }


def usage_report(obj) -> dict:
    return {
        "id": obj.pk,
        "tenant_id": obj.tenant_id,
        "month": _month(obj.month),
        "state": obj.state,
        "metrics": obj.metrics or {},
        "error": obj.error[:1000],
    }


def statement(obj) -> dict:
    return {
        "id": obj.pk,
        "organization_id": obj.organization_id,
        "month": _month(obj.month),
        "currency": obj.currency,
        "total": str(obj.total),
    }


def webhook_endpoint(obj) -> dict:
    return {
        "id": obj.pk,
        "url": obj.url,
        "description": obj.description,
        "disabled_reason": obj.disabled_reason,
    }


BUILDERS = {
    "subscription": subscription,
    "tenant": tenant,
    "service": service,
    "incident": incident,
    "usage_report": usage_report,
    "statement": statement,
    "webhook_endpoint": webhook_endpoint,
}
