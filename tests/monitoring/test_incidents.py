"""The incident state machine: three unhealthy checks open one incident, recovery closes it."""

import pytest

from monitoring.health import probe_outcomes_handle
from monitoring.models import Incident
from services.models import Service
from tests.factories import ServiceFactory, VendorFactory
from tests.monitoring.helpers import STAFF_ALERTS, T0, mails_to, minutes, outcome

pytestmark = pytest.mark.django_db


def check(service, state, at, **kwargs):
    """One probe result for one service at minute ``at`` after T0."""
    return probe_outcomes_handle(outcomes=[outcome(service, state, **kwargs)], now=T0 + minutes(at))


def staff_mails(mailbox):
    return mails_to(mailbox, STAFF_ALERTS[0])


def test_third_unhealthy_check_opens_exactly_one_incident_and_alerts_once(policy, mailoutbox):
    service = ServiceFactory()
    check(service, "unhealthy", 0, reason="HTTP 500")
    check(service, "unhealthy", 1, reason="HTTP 500")
    assert Incident.objects.count() == 0
    assert mailoutbox == []

    events = check(service, "unhealthy", 2, reason="HTTP 503")

    incident = Incident.objects.get()
    assert incident.is_open
    assert incident.service == service
    assert incident.reason == "HTTP 503"
    assert incident.failed_checks == 3
    assert incident.opened_at == T0  # down since the first failed check
    assert incident.last_alert_at == T0 + minutes(2)
    assert [event.kind for event in events] == ["opened"]
    assert len(staff_mails(mailoutbox)) == 1
    assert staff_mails(mailoutbox)[0].to == STAFF_ALERTS
    assert service.name in staff_mails(mailoutbox)[0].subject
    assert "HTTP 503" in staff_mails(mailoutbox)[0].body
    vendor_mails = mails_to(mailoutbox, service.vendor.contact_email)
    assert len(vendor_mails) == 1
    assert STAFF_ALERTS[0] not in vendor_mails[0].to
    assert len(mailoutbox) == 2

    check(service, "unhealthy", 3)
    check(service, "unhealthy", 4)
    incident.refresh_from_db()
    assert Incident.objects.count() == 1
    assert incident.failed_checks == 5
    assert len(mailoutbox) == 2  # no reminders while the same incident stays open


def test_service_row_holds_current_state_and_failure_count(policy):
    service = ServiceFactory()
    check(service, "healthy", 0, latency_ms=12)
    check(service, "unhealthy", 1, latency_ms=3000, reason="no complete answer within 5 s")
    check(service, "unhealthy", 2, reason="no complete answer within 5 s")
    service.refresh_from_db()
    assert service.health == Service.Health.UNHEALTHY
    assert service.consecutive_failures == 2
    assert service.health_checked_at == T0 + minutes(2)
    assert service.health_changed_at == T0 + minutes(1)
    assert service.health_reason == "no complete answer within 5 s"


def test_healthy_answer_closes_the_incident_and_says_so(policy, mailoutbox):
    service = ServiceFactory()
    for minute in range(3):
        check(service, "unhealthy", minute)
    mailoutbox.clear()

    events = check(service, "healthy", 3)

    incident = Incident.objects.get()
    assert incident.closed_at == T0 + minutes(3)
    assert [event.kind for event in events] == ["closed"]
    assert len(staff_mails(mailoutbox)) == 1
    assert "recovered" in staff_mails(mailoutbox)[0].subject
    assert len(mails_to(mailoutbox, service.vendor.contact_email)) == 1
    service.refresh_from_db()
    assert service.consecutive_failures == 0
    assert service.health == Service.Health.HEALTHY


def test_degraded_is_shown_but_resets_the_unhealthy_count(policy, mailoutbox):
    service = ServiceFactory()
    check(service, "unhealthy", 0)
    check(service, "unhealthy", 1)
    check(service, "degraded", 2)
    service.refresh_from_db()
    assert service.health == Service.Health.DEGRADED
    assert service.consecutive_failures == 0

    check(service, "unhealthy", 3)
    check(service, "unhealthy", 4)
    for minute in range(5, 10):
        check(service, "degraded", minute)

    assert Incident.objects.count() == 0
    assert mailoutbox == []


def test_degraded_answer_closes_an_open_incident(policy):
    service = ServiceFactory()
    for minute in range(3):
        check(service, "unhealthy", minute)
    check(service, "degraded", 3)
    assert Incident.objects.get().closed_at == T0 + minutes(3)


def test_flapping_service_is_alerted_at_most_once_per_realert_window(policy, mailoutbox):
    policy.incident_realert_minutes = 60
    policy.save()
    service = ServiceFactory()
    minute = 0
    for _cycle in range(5):  # down 3 checks, up 1 check: a new incident every 4 minutes
        for _ in range(3):
            check(service, "unhealthy", minute)
            minute += 1
        check(service, "healthy", minute)
        minute += 1

    assert Incident.objects.count() == 5
    assert Incident.objects.filter(closed_at__isnull=True).count() == 0
    subjects = [message.subject for message in staff_mails(mailoutbox)]
    assert len(subjects) == 2  # the first opening and its recovery only
    assert "down" in subjects[0]
    assert "recovered" in subjects[1]
    assert Incident.objects.filter(last_alert_at__isnull=False).count() == 1


def test_incident_held_back_by_the_window_is_announced_once_the_window_passes(policy, mailoutbox):
    policy.incident_realert_minutes = 60
    policy.save()
    service = ServiceFactory()
    for minute in range(3):
        check(service, "unhealthy", minute)  # alerted at minute 2
    check(service, "healthy", 3)
    for minute in range(4, 62):
        check(service, "unhealthy", minute)  # opens at minute 6, held back
    mailoutbox.clear()
    held = Incident.objects.get(closed_at__isnull=True)
    assert held.last_alert_at is None

    check(service, "unhealthy", 62)  # 60 minutes after the last alert

    held.refresh_from_db()
    assert held.last_alert_at == T0 + minutes(62)
    assert len(staff_mails(mailoutbox)) == 1
    assert "down" in staff_mails(mailoutbox)[0].subject


def test_threshold_comes_from_the_market_policy(policy):
    policy.incident_threshold = 5
    policy.save()
    service = ServiceFactory()
    for minute in range(4):
        check(service, "unhealthy", minute)
    assert Incident.objects.count() == 0
    check(service, "unhealthy", 4)
    assert Incident.objects.count() == 1


def test_an_outage_of_many_services_sends_one_mail_to_staff_and_one_per_vendor(policy, mailoutbox):
    vendors = [VendorFactory(), VendorFactory()]
    services = [ServiceFactory(vendor=vendors[i % 2]) for i in range(30)]
    for minute in range(3):
        probe_outcomes_handle(
            outcomes=[outcome(service, "unhealthy") for service in services],
            now=T0 + minutes(minute),
        )
    assert Incident.objects.filter(closed_at__isnull=True).count() == 30
    assert len(staff_mails(mailoutbox)) == 1
    assert all(service.service_id in staff_mails(mailoutbox)[0].body for service in services)
    for vendor in vendors:
        vendor_mails = mails_to(mailoutbox, vendor.contact_email)
        assert len(vendor_mails) == 1
        others = [s for s in services if s.vendor_id != vendor.pk]
        assert all(s.service_id not in vendor_mails[0].body for s in others)
    assert len(mailoutbox) == 3


def test_a_mail_server_failure_does_not_undo_the_incident(policy, settings):
    settings.EMAIL_BACKEND = "tests.monitoring.failing_mail.Backend"
    service = ServiceFactory()
    for minute in range(3):
        check(service, "unhealthy", minute)
    assert Incident.objects.get().is_open
