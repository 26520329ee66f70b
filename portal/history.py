"""History pages: the event log rendered as sentences in the reader's language.

Events store a type and a payload (codes and ids), never a sentence; this module turns them
into text at read time, so a Korean reader and an English reader see the same event in their
own language, with labels (plan names) instead of codes. Tenant history written before the
event log existed (``tenants.LifecycleEvent`` rows, stored sentences) is still shown, older
than the first event of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.labels import type_label
from events.models import Event
from market.models import User
from services.models import Plan
from tenants.models import LifecycleEvent, Tenant

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class HistoryEntry:
    created_at: datetime
    message: str
    actor_label: str


# The sentence of each type; ``%(plan)s``, ``%(reason)s``, ``%(ends_on)s`` come from the payload.
SENTENCES = {
    "subscription.created": gettext_lazy("Subscription created: %(plan)s"),
    "subscription.renewed": gettext_lazy("Subscription renewed until %(ends_on)s"),
    "subscription.plan_changed": gettext_lazy("Plan changed: %(plan)s"),
    "tenant.activation_failed": gettext_lazy("Activation failed: %(reason)s"),
    "tenant.needs_attention": gettext_lazy("Needs attention: %(reason)s"),
    "tenant.drifted": gettext_lazy("Vendor status differs: %(reason)s"),
}


def _plan_code(event: Event) -> str | None:
    payload = event.payload or {}
    return (payload.get("subscription") or {}).get("plan") or (payload.get("tenant") or {}).get(
        "plan"
    )


def _plan_names(events: list[Event]) -> dict[tuple[int | None, str], str]:
    keys = {(e.service_id, code) for e in events if (code := _plan_code(e))}
    if not keys:
        return {}
    rows = Plan.objects.filter(
        service_id__in={service for service, _code in keys},
        code__in={code for _service, code in keys},
    ).values_list("service_id", "code", "name")
    return {(service, code): name for service, code, name in rows}


def _user_names(events: list[Event]) -> dict[int, str]:
    ids = {e.actor_user_id for e in events if e.actor_kind == Event.ActorKind.USER}
    ids.discard(None)
    if not ids:
        return {}
    return {user.pk: user.get_full_name() or user.get_username() for user in User.objects.filter(pk__in=ids)}  # fmt: skip


def _date(value: str | None) -> str:
    try:
        return date.fromisoformat(value or "").strftime("%Y-%m-%d")
    except ValueError:
        return value or ""


def event_sentence(event: Event, *, plan_names: dict | None = None) -> str:
    """One event as a sentence in the active language."""
    payload = event.payload or {}
    data = payload.get("data") or {}
    if event.type == "tenant.activation_requested":
        return _("Reactivation requested") if data.get("reactivation") else _("Activation requested")  # fmt: skip
    sentence = SENTENCES.get(event.type)
    if sentence is None:
        return type_label(event.type)
    code = _plan_code(event) or ""
    values = {
        "plan": (plan_names or {}).get((event.service_id, code), code),
        "reason": data.get("reason", ""),
        "ends_on": _date((payload.get("subscription") or {}).get("ends_on")),
    }
    return str(sentence) % values


def event_actor(event: Event, *, user_names: dict | None = None) -> str:
    """Who did it: the user's name, the API token's name, or the kind of automatic actor."""
    kind = event.actor_kind
    if kind == Event.ActorKind.USER:
        return (user_names or {}).get(event.actor_user_id) or event.actor_label
    if kind == Event.ActorKind.TOKEN:
        return _("API token %(name)s") % {"name": event.actor_label}
    if kind == Event.ActorKind.JOB:
        return _("Scheduled job")
    return _("System")


def events_rendered(events: list[Event]) -> list[HistoryEntry]:
    """Events as history entries, in two extra queries at most (plan names, user names)."""
    plan_names = _plan_names(events)
    user_names = _user_names(events)
    return [
        HistoryEntry(
            created_at=event.created_at,
            message=event_sentence(event, plan_names=plan_names),
            actor_label=event_actor(event, user_names=user_names),
        )
        for event in events
    ]


def _legacy_actor(row: LifecycleEvent) -> str:
    if row.actor_id is not None:
        return row.actor.get_full_name() or row.actor.get_username()
    return _("System") if row.actor_label in ("", "system") else row.actor_label


def _log_started_at() -> datetime | None:
    """When the event log recorded its first event: stored rows from before then are shown."""
    return Event.objects.order_by("id").values_list("created_at", flat=True).first()


def tenant_history(*, tenant: Tenant, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """A tenant's history, newest first: the event log, then rows stored before it existed.

    The lifecycle still writes its stored rows beside the log, so only rows older than the
    log's first event are shown (the rest would repeat logged events).
    """
    events = list(Event.objects.filter(tenant_id=tenant.pk).order_by("-created_at", "-id")[:limit])
    entries = events_rendered(events)
    started = _log_started_at()
    if len(entries) < limit:
        legacy = LifecycleEvent.objects.filter(tenant=tenant).select_related("actor")
        if started is not None:
            legacy = legacy.filter(created_at__lt=started)
        for row in legacy.order_by("-created_at", "-id")[: limit - len(entries)]:
            entries.append(HistoryEntry(row.created_at, row.message, _legacy_actor(row)))
    return entries
