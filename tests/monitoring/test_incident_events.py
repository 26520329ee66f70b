"""The health sweep records incident.opened and incident.resolved with the incident."""

import pytest

from events.models import Event
from monitoring.health import probe_outcomes_handle
from monitoring.models import Incident
from tests.factories import ServiceFactory
from tests.monitoring.helpers import T0, minutes, outcome

pytestmark = pytest.mark.django_db


def test_an_incident_opening_and_closing_is_in_the_log(policy):
    service = ServiceFactory()
    for minute in range(3):
        probe_outcomes_handle(outcomes=[outcome(service, "unhealthy")], now=T0 + minutes(minute))
    opened = Event.objects.get(type="incident.opened")
    incident = Incident.objects.get()
    assert opened.payload["incident"]["id"] == incident.pk
    assert (opened.service_id, opened.vendor_id) == (service.pk, service.vendor_id)
    assert opened.actor_label == "health_sweep"

    probe_outcomes_handle(outcomes=[outcome(service, "healthy")], now=T0 + minutes(3))
    resolved = Event.objects.get(type="incident.resolved")
    assert resolved.payload["incident"]["closed_at"] is not None
