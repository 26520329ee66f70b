"""A hanging vendor slows no one else: the bulkhead between vendors, with a real worker.

The worker has the production layout's shape (a thread pool on the ``celery`` queue), scaled
down to 8 slots: the automatic per-vendor cap is then 3 lifecycle calls, plus one usage chunk.
"""

import statistics
import time
import uuid

import pytest
from django.utils import timezone

from market.lib.months import month_first, month_label
from monitoring import tasks as monitoring_tasks
from monitoring.models import UsageReport
from tenants.models import Operation, Organization, Tenant
from tenants.operations.dispatch import send_to_worker
from tests.factories import VendorFactory
from tests.faults.conftest import _subscribe
from tests.support.stub_vendor import StubVendor, hang, register_stub_service
from tests.support.vendors import TEST_CREDENTIALS, register_reference_service
from tests.support.worker import wait_until

pytestmark = pytest.mark.worker

SLOTS = 8
VENDOR_CAP = 3  # market.lib.bulkhead.fair_vendor_cap(8)
QUEUED_PER_SERVICE = 100
NEIGHBOUR_TENANTS = 5
ROUNDS = 3
# The stub vendor reports the current month, so that is the month collected.
THIS_MONTH = lambda: month_first(timezone.localdate())  # noqa: E731
BOUND = 2.0  # seconds over the unloaded time (issue 14, test b)


def _active(subscription) -> bool:
    return Tenant.objects.filter(pk=subscription.tenant_id, state=Tenant.State.ACTIVE).exists()


def _time_activation(service, slug: str) -> float:
    started = time.monotonic()
    subscription = _subscribe(service, slug=slug)
    wait_until(lambda: _active(subscription), timeout=60, interval=0.02, message=slug)
    return time.monotonic() - started


def _time_usage(report_ids: list[int]) -> float:
    UsageReport.objects.filter(pk__in=report_ids).update(
        state=UsageReport.State.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    started = time.monotonic()
    monitoring_tasks._dispatch_usage(report_ids)
    try:
        _wait_collected(report_ids)
    except AssertionError:
        states = list(UsageReport.objects.filter(pk__in=report_ids).values_list("state", "error"))
        raise AssertionError(f"the neighbour's usage was not collected: {states}") from None
    return time.monotonic() - started


def _wait_collected(report_ids: list[int]) -> None:
    wait_until(
        lambda: (
            not UsageReport.objects.filter(pk__in=report_ids)
            .exclude(state=UsageReport.State.COLLECTED)
            .exists()
        ),
        timeout=30,
        interval=0.02,
    )


def _hanging_load(services) -> tuple[list[int], list[int]]:
    """≥100 queued activations per service of the hanging vendor, and a report per tenant."""
    schools = Organization.objects.bulk_create(
        Organization(name=f"Busy {n}", slug=f"busy_{n}", contact_email=f"o{n}@busy.example")
        for n in range(QUEUED_PER_SERVICE)
    )
    tenants = Tenant.objects.bulk_create(
        Tenant(organization=school, service=service, tenant_id=school.slug, state="requested")
        for service in services
        for school in schools
    )
    now = timezone.now()
    operations = Operation.objects.bulk_create(
        Operation(
            tenant=tenant,
            kind=Operation.Kind.ACTIVATE,
            payload={"plan": "basic", "tenant_id": tenant.tenant_id},
            request_id=uuid.uuid4(),
            next_attempt_at=now,
        )
        for tenant in tenants
    )
    reports = UsageReport.objects.bulk_create(
        UsageReport(tenant=tenant, month=THIS_MONTH(), next_attempt_at=now) for tenant in tenants
    )
    return [o.pk for o in operations], [r.pk for r in reports]


def test_a_hanging_vendor_delays_another_vendors_activation_and_usage_by_under_2_s(
    workers, transactional_db, capsys
):
    """One vendor hangs while another activates and collects usage.

    Fault: a vendor with two services never answers (each call cut at the 3 s timeout); each
    service has 100 activations queued and its month's usage collection (200 reports) runs.
    Expected: the other vendor's activation and usage collection each finish within 2 s of
    their unloaded times (medians of 3); the hanging vendor never holds more than its 3 slots
    of the worker's 8 for lifecycle calls.
    Vendor effects: the hanging vendor sees at most 3 activate calls at once; the neighbour
    sees one activate per school and one usage call per tenant and round.
    """
    with (
        StubVendor(api_key=TEST_CREDENTIALS.api_key) as hanging,
        StubVendor(api_key=TEST_CREDENTIALS.api_key) as neighbour,
    ):
        vendor = VendorFactory()
        busy = [
            register_reference_service(vendor=vendor, base_url=hanging.base_url, service_id=name)
            for name in ("hang_one", "hang_two")
        ]
        calm = register_stub_service(neighbour, service_id="calm_tutor")
        for endpoint in ("activate", "status", "usage"):
            hanging.always(endpoint, hang(60))
        workers.start(
            concurrency=SLOTS, pool="threads", extra_env={"VENDOR_TOTAL_TIMEOUT_MS": "3000"}
        )
        calm_tenants = [
            Tenant.objects.create(
                organization=Organization.objects.create(
                    name=f"Calm {n}", slug=f"calm_{n}", contact_email=f"c{n}@calm.example"
                ),
                service=calm,
                tenant_id=f"calm_{n}",
                state=Tenant.State.ACTIVE,
            )
            for n in range(NEIGHBOUR_TENANTS)
        ]
        for tenant in calm_tenants:
            neighbour.seed_tenant(tenant.tenant_id)
        calm_reports = [
            UsageReport.objects.create(tenant=tenant, month=THIS_MONTH()).pk
            for tenant in calm_tenants
        ]

        _time_activation(calm, "warm_up")  # first call: connections, imports
        unloaded = {
            "activation": [_time_activation(calm, f"quiet_{n}") for n in range(ROUNDS)],
            "usage": [_time_usage(calm_reports) for _ in range(ROUNDS)],
        }

        operation_ids, report_ids = _hanging_load(busy)
        for operation_id in operation_ids:
            send_to_worker(operation_id)
        monitoring_tasks._dispatch_usage(report_ids)
        hanging.wait_for_requests("activate", VENDOR_CAP, timeout=60)
        hanging.wait_for_requests("usage", 1, timeout=60)

        def taken_in() -> bool:
            # Every message of the burst was read: each operation is in flight or parked.
            return not Operation.objects.filter(
                pk__in=operation_ids,
                state=Operation.State.QUEUED,
                waiting_for_slot_since__isnull=True,
                next_attempt_at__lte=timezone.now(),
            ).exists()

        wait_until(taken_in, timeout=120, message="the burst was not taken in")

        in_flight_seen: list[int] = []

        def sample_in_flight() -> None:
            in_flight_seen.append(
                Operation.objects.filter(
                    tenant__service__vendor=vendor, state=Operation.State.IN_FLIGHT
                ).count()
            )

        loaded = {"activation": [], "usage": []}
        for n in range(ROUNDS):
            sample_in_flight()
            loaded["activation"].append(_time_activation(calm, f"busy_time_{n}"))
            sample_in_flight()
            loaded["usage"].append(_time_usage(calm_reports))
        sample_in_flight()

        still_queued = Operation.objects.filter(
            pk__in=operation_ids, state__in=Operation.OPEN_STATES
        ).count()
        hanging_usage_calls = len(hanging.requests_to("usage"))

    with capsys.disabled():
        print(f"\nbulkhead ({month_label(THIS_MONTH())}), seconds:")
        for name in ("activation", "usage"):
            print(
                f"  {name}: unloaded {[round(t, 2) for t in unloaded[name]]}"
                f" loaded {[round(t, 2) for t in loaded[name]]}"
            )
        print(
            f"  hanging vendor: {still_queued} operations still open, in flight seen "
            f"{in_flight_seen}, {hanging_usage_calls} usage calls started"
        )

    # The load was there all along: the hanging vendor's work was still queued and calling.
    assert still_queued >= 2 * QUEUED_PER_SERVICE - 2 * VENDOR_CAP
    assert hanging_usage_calls >= 1
    assert max(in_flight_seen) <= VENDOR_CAP
    for name in ("activation", "usage"):
        quiet, busy_median = statistics.median(unloaded[name]), statistics.median(loaded[name])
        assert busy_median <= quiet + BOUND, (name, unloaded[name], loaded[name])
