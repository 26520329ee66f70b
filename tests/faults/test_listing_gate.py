"""The listing gate end to end: a real Celery worker runs the conformance kit against vendors
over HTTP on 127.0.0.1, with the credentials the market issued.

- The reference vendor passes the required checks: the service is listed through the gate and
  a school's subscription is activated by the worker.
- A vendor that rejects the market's credentials (401 on every authenticated call) fails them:
  the service stays hidden from schools and its checklist says why.
"""

import datetime

import pytest
from django.utils import timezone

from services import tasks as service_tasks
from services.listing import listing_blockers
from services.models import ConformanceRun, Service
from tenants.errors import LifecycleError
from tenants.models import Tenant
from tests.support.stub_vendor import StubVendor, register_stub_service
from tests.support.vendors import register_reference_service
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker


def _finished_run(service) -> ConformanceRun:
    return wait_until(
        lambda: service.conformance_runs.exclude(result=ConformanceRun.Result.RUNNING).first(),
        timeout=90,
        message=f"the conformance run of {service.service_id} never finished",
    )


def test_a_conformant_vendor_is_listed_and_one_rejecting_market_credentials_is_not(
    reference_vendor, workers, subscribe
):
    from tests.factories import VendorFactory

    good = register_reference_service(
        vendor=VendorFactory(), base_url=reference_vendor.base_url, listed=False
    )
    with StubVendor(api_key="a-key-the-market-never-issued") as rejecting_stub:
        rejecting = register_stub_service(rejecting_stub, service_id="rejecting_tutor")
        Service.objects.filter(pk=rejecting.pk).update(
            status=Service.Status.PENDING_REVIEW, listed_via=""
        )
        for service in (good, rejecting):
            service.refresh_from_db()
            assert service.status == Service.Status.PENDING_REVIEW
            assert [b.key for b in listing_blockers(service)] == ["conformance"]
            with pytest.raises(LifecycleError, match="구독을 받지 않고 있습니다"):
                subscribe(service, slug=f"early_{service.service_id}")

        workers.start()
        service_tasks.conformance_run.delay(good.pk)
        service_tasks.conformance_run.delay(rejecting.pk)
        good_run = _finished_run(good)
        rejected_run = _finished_run(rejecting)
        # The kit really called the vendor, and the vendor refused the market's credentials.
        assert rejecting_stub.requests_to("activate")
        assert all(
            r.headers.get("X-Market-API-Key") != "a-key-the-market-never-issued"
            for r in rejecting_stub.requests
        )

    assert good_run.result == ConformanceRun.Result.PASSED, good_run.report
    good.refresh_from_db()
    assert (good.status, good.listed_via) == (Service.Status.LISTED, Service.ListedVia.GATE)
    assert listing_blockers(good) == []

    assert rejected_run.result in (ConformanceRun.Result.FAILED, ConformanceRun.Result.ERROR)
    rejecting.refresh_from_db()
    assert rejecting.status == Service.Status.PENDING_REVIEW
    (blocker,) = listing_blockers(rejecting)
    assert blocker.key == "conformance" and not blocker.done

    # Listed through the gate, the service activates a school's tenant on the worker.
    subscription = subscribe(good, slug="gate_school")
    wait_until(
        lambda: Tenant.objects.get(pk=subscription.tenant_id).state == Tenant.State.ACTIVE,
        timeout=30,
        message="the listed service never activated the school",
    )
    assert subscription.ends_on > timezone.localdate() + datetime.timedelta(days=1)
