"""E-mails about incidents and usage compliance, grouped so an outage storm stays readable.

One call sends at most one e-mail to staff and one to each vendor concerned, however many
services changed at once: when the market itself loses its network, staff get one list of
5,000 services rather than 5,000 messages.

The messages are written to the outbox (`mailer`) in the transaction of the state they
describe; a worker sends them after commit, with retries, so a mail server outage neither
undoes the state change nor loses the message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from mailer.services import mail_render_queue
from monitoring.models import Incident
from services.models import Service


@dataclass(frozen=True)
class IncidentEvent:
    """An incident the health sweep opened or closed, to announce once it is committed."""

    kind: Literal["opened", "closed"]
    incident_id: int


def _absolute(path: str) -> str:
    return settings.MARKET_BASE_URL.rstrip("/") + path


def _message(*, template: str, context: dict, to: Sequence[str]) -> dict:
    return {"template": template, "context": context, "to": list(to)}


def _send(messages: list[dict]) -> int:
    """Queue the messages in the caller's transaction; return how many were queued."""
    for message in messages:
        mail_render_queue(
            kind=message["template"],
            template=f"emails/monitoring/{message['template']}",
            context=message["context"],
            to=message["to"],
            language=settings.LANGUAGE_CODE,
        )
    return len(messages)


def incident_events_notify(*, events: Iterable[IncidentEvent]) -> int:
    """Queue e-mail to staff and each vendor about incidents opened and closed; return how many."""
    events = list(events)
    if not events:
        return 0
    incidents = Incident.objects.select_related("service__vendor").in_bulk(
        [event.incident_id for event in events]
    )
    opened = [incidents[e.incident_id] for e in events if e.kind == "opened"]
    closed = [incidents[e.incident_id] for e in events if e.kind == "closed"]
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        staff = [address for address in settings.MARKET_STAFF_ALERT_EMAILS if address]
        if staff:
            messages.append(
                _message(
                    template="incidents_staff",
                    context={
                        "opened": opened,
                        "closed": closed,
                        "dashboard_url": _absolute(reverse("monitoring:dashboard")),
                    },
                    to=staff,
                )
            )
        by_vendor: dict[int, dict] = defaultdict(lambda: {"opened": [], "closed": []})
        for kind, group in (("opened", opened), ("closed", closed)):
            for incident in group:
                by_vendor[incident.service.vendor_id][kind].append(incident)
        for lists in by_vendor.values():
            vendor = (lists["opened"] or lists["closed"])[0].service.vendor
            if not vendor.contact_email:
                continue
            messages.append(
                _message(
                    template="incidents_vendor",
                    context={
                        "vendor": vendor,
                        **lists,
                        "status_url": _absolute(reverse("monitoring:status")),
                    },
                    to=[vendor.contact_email],
                )
            )
    return _send(messages)


def usage_noncompliance_notify(
    *, service_ids: Iterable[int], month_label: str, reasons: dict | None = None
) -> int:
    """Tell each vendor once that its services failed mandatory usage reports, and how.

    ``reasons`` maps a service's pk to ``{"failure": "refused"|"malformed"|"missing",
    "error": "..."}``: the mail says which of those happened, never a call that was not made.
    """
    reasons = reasons or {}
    services = list(
        Service.objects.filter(pk__in=list(service_ids)).select_related("vendor").order_by("name")
    )
    for service in services:
        reason = reasons.get(service.pk) or {}
        service.usage_failure = reason.get("failure", "missing")
        service.usage_error = reason.get("error", "")
    by_vendor: dict[int, list[Service]] = defaultdict(list)
    for service in services:
        by_vendor[service.vendor_id].append(service)
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        for group in by_vendor.values():
            vendor = group[0].vendor
            if not vendor.contact_email:
                continue
            messages.append(
                _message(
                    template="usage_noncompliant_vendor",
                    context={"vendor": vendor, "services": group, "month": month_label},
                    to=[vendor.contact_email],
                )
            )
    return _send(messages)
