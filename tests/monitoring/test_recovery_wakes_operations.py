"""When a service's health recovers, the operations that backed off while it was down go now."""

import datetime

import pytest
from django.utils import timezone

from monitoring.health import outcomes_record
from services.models import Service
from services.vendor_client.probe import ProbeOutcome
from tenants.models import Operation
from tests.factories import ServiceFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db


def waiting_operation(service):
    tenant = SubscriptionFactory(service=service).tenant
    return Operation.objects.create(
        tenant=tenant,
        kind=Operation.Kind.ACTIVATE,
        attempts=4,
        next_attempt_at=timezone.now() + datetime.timedelta(minutes=9),
    )


def test_recovery_makes_backed_off_operations_due_and_sends_them(
    django_capture_on_commit_callbacks,
):
    service = ServiceFactory(health=Service.Health.UNHEALTHY, consecutive_failures=5)
    operation = waiting_operation(service)
    with django_capture_on_commit_callbacks() as callbacks:
        outcomes_record(
            outcomes=[ProbeOutcome(key=service.pk, state="healthy", latency_ms=12, reason="")]
        )
    operation.refresh_from_db()
    assert operation.next_attempt_at <= timezone.now()
    assert len(callbacks) >= 1  # the operation is sent to a worker after commit


def test_a_service_that_stays_down_leaves_its_operations_waiting():
    service = ServiceFactory(health=Service.Health.UNHEALTHY, consecutive_failures=5)
    operation = waiting_operation(service)
    later = operation.next_attempt_at
    outcomes_record(
        outcomes=[ProbeOutcome(key=service.pk, state="unhealthy", latency_ms=0, reason="timeout")]
    )
    operation.refresh_from_db()
    assert operation.next_attempt_at == later
