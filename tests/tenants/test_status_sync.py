"""Status sync asks the vendor and flags drift; it never overwrites the market's state."""

import datetime
import json
import urllib.request

import pytest
from django.utils import timezone

from tenants.models import Tenant
from tenants.operations.apply import operation_execute
from tenants.operations.reconcile import sync_tenant_statuses, tenant_sync_status
from tenants.operations.services import subscription_create
from tests.factories import OrganizationFactory, VendorFactory
from tests.support.vendors import TEST_CREDENTIALS, register_reference_service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def active_tenant(reference_vendor):
    service = register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    subscription = subscription_create(
        organization=OrganizationFactory(slug="drift_school"),
        service=service,
        plan=service.plans.get(code="basic"),
        ends_on=timezone.localdate() + datetime.timedelta(days=90),
        max_users=50,
        storage_limit_gb=5,
        admin_email="it@drift.example",
        admin_name="Kim",
    )
    operation_execute(operation_id=subscription.tenant.operations.get().pk)
    tenant = Tenant.objects.get(pk=subscription.tenant_id)
    assert tenant.state == Tenant.State.ACTIVE
    return tenant


def deactivate_behind_the_markets_back(base_url: str, tenant_id: str) -> None:
    """A vendor-side change the market did not ask for."""
    import time
    import uuid

    from vendorkit.signing import request_signature_headers

    body = json.dumps(
        {"reason": "admin_request", "preserve_data": True, "deactivate_at": "2026-01-01T00:00:00Z"}
    ).encode()
    request_id, timestamp = str(uuid.uuid4()), int(time.time())
    url = f"{base_url}/mt/tenant/{tenant_id}/deactivate"
    signed = request_signature_headers(
        secrets=[TEST_CREDENTIALS.signing_secret],
        method="POST",
        url=url,
        request_id=request_id,
        timestamp=timestamp,
        body=body,
    )
    request = urllib.request.Request(  # noqa: S310
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Market-API-Key": TEST_CREDENTIALS.api_key,
            **signed,
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200


def test_matching_status_is_stored_without_drift(active_tenant):
    tenant = tenant_sync_status(tenant=active_tenant)
    assert tenant.drifted is False
    stored = Tenant.objects.get(pk=active_tenant.pk)
    assert stored.last_status["status"] == "active"
    assert stored.last_status["plan"] == "basic"
    assert stored.last_status_at is not None


def test_disagreeing_vendor_flags_drift_and_keeps_the_markets_state(
    active_tenant, reference_vendor
):
    deactivate_behind_the_markets_back(reference_vendor.base_url, active_tenant.tenant_id)
    assert sync_tenant_statuses() == 1
    stored = Tenant.objects.get(pk=active_tenant.pk)
    assert stored.state == Tenant.State.ACTIVE
    assert stored.drifted is True
    assert "deactivated" in stored.drift_reason
    assert stored.events.filter(kind="drift_detected").count() == 1
