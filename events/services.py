"""Writing the event log: `event_record`, called inside the transaction of the change."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import jsonschema
from django.conf import settings
from django.db import transaction

from events import payloads
from events.models import Event
from events.registry import event_type
from market.models import ApiToken, User

# Subscribers told after the recording transaction commits (the webhooks app registers one in
# its ready()); a lost notification is harmless: they also sweep for unpublished events.
_subscribers: list[Callable[[list[int]], None]] = []


class EventError(ValueError):
    """An event that cannot be recorded: an unknown type, a payload off its schema or too big."""

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Actor:
    """Who or what caused an event: a user, an API token, a scheduled job, or the system."""

    kind: str
    label: str
    user_id: int | None = None
    token_id: int | None = None

    @classmethod
    def job(cls, name: str) -> Actor:
        return cls(kind=Event.ActorKind.JOB, label=name)

    @classmethod
    def of(cls, who) -> Actor:
        """An Actor from a User, an ApiToken, a Principal, a job name, an Actor or None."""
        if isinstance(who, Actor):
            return who
        if who is None:
            return cls(kind=Event.ActorKind.SYSTEM, label="system")
        if isinstance(who, str):
            return cls.job(who)
        if isinstance(who, ApiToken):
            return cls(
                kind=Event.ActorKind.TOKEN,
                label=who.name,
                user_id=who.created_by_id,
                token_id=who.pk,
            )
        if isinstance(who, User):
            return cls(kind=Event.ActorKind.USER, label=who.get_username(), user_id=who.pk)
        token = getattr(who, "token", None)  # a market.api Principal
        if token is not None:
            return cls.of(token)
        return cls.of(getattr(who, "user", None))


def _notify_after_commit(event_ids: list[int]) -> None:
    """Tell the subscribers about these events once the transaction commits (never if it
    rolls back: Django drops the callbacks of a rolled-back block)."""
    if _subscribers and event_ids:
        transaction.on_commit(lambda: _tell(event_ids))


def _tell(event_ids: list[int]) -> None:
    for callback in list(_subscribers):
        callback(event_ids)


def max_payload_bytes() -> int:
    return int(getattr(settings, "EVENTS_MAX_PAYLOAD_BYTES", 64 * 1024))


def event_subscribe(callback: Callable[[list[int]], None]) -> None:
    """Call ``callback(event_ids)`` after each recording transaction commits."""
    if callback not in _subscribers:
        _subscribers.append(callback)


def _ids(objects: dict, *, lookup_vendor: bool = True) -> dict:
    ids = {}
    for name in ("organization", "vendor", "service", "subscription", "tenant"):
        obj = objects.get(name)
        if obj is not None:
            ids[f"{name}_id"] = obj if isinstance(obj, int) else obj.pk
    for obj in objects.values():  # fill what an object implies (a tenant's school, ...)
        if obj is None or isinstance(obj, int):
            continue
        for name in ("organization_id", "service_id", "tenant_id", "vendor_id"):
            value = getattr(obj, name, None)
            if isinstance(value, int):
                ids.setdefault(name, value)
    service = objects.get("service")
    if lookup_vendor and "vendor_id" not in ids and ids.get("service_id"):
        from django.apps import apps

        service_model = apps.get_model("services", "Service")
        ids["vendor_id"] = (
            service.vendor_id
            if isinstance(service, service_model)
            else service_model.objects.filter(pk=ids["service_id"])
            .values_list("vendor_id", flat=True)
            .first()
        )
    return ids


def event_payload(*, type: str, objects: dict, data: dict | None = None) -> dict:
    """The payload of an event of ``type`` about ``objects``; raises EventError if off-schema."""
    try:
        known = event_type(type)
    except KeyError as error:
        raise EventError(str(error.args[0]), code="unknown_event_type", field="type") from None
    payload = {name: payloads.BUILDERS[name](objects[name]) for name in known.objects}
    if data is not None:
        payload["data"] = data
    size = len(json.dumps(payload, ensure_ascii=False).encode())
    if size > max_payload_bytes():
        raise EventError(
            f"The payload is {size} bytes; events carry at most {max_payload_bytes()} bytes.",
            code="payload_too_large",
            field="data",
        )
    error = next(iter(_validator(type).iter_errors(payload)), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise EventError(
            f"The {type} payload does not match its schema at {where}: {error.message}",
            code="payload_invalid",
            field="data",
        )
    return payload


@functools.cache
def _validator(type: str) -> jsonschema.Draft202012Validator:
    schema = event_type(type).payload_schema()
    return jsonschema.Draft202012Validator(schema, format_checker=None)


def event_record(
    *,
    type: str,
    actor=None,
    organization=None,
    vendor=None,
    service=None,
    subscription=None,
    tenant=None,
    incident=None,
    usage_report=None,
    statement=None,
    webhook_endpoint=None,
    data: dict | None = None,
) -> Event:
    """Record one event about the objects given, as they are now, in the caller's transaction.

    Objects may be model instances or (for the filter ids only) plain ids. The actor may be a
    User, an ApiToken, a Principal, a job name or None (the system).
    """
    objects = {
        "organization": organization,
        "vendor": vendor,
        "service": service,
        "subscription": subscription,
        "tenant": tenant,
        "incident": incident,
        "usage_report": usage_report,
        "statement": statement,
        "webhook_endpoint": webhook_endpoint,
    }
    payload = event_payload(type=type, objects=objects, data=data)
    who = Actor.of(actor)
    event = Event.objects.create(
        type=type,
        schema_version=event_type(type).version,
        actor_kind=who.kind,
        actor_label=who.label[:150],
        actor_user_id=who.user_id,
        actor_token_id=who.token_id,
        payload=payload,
        **_ids(objects),
    )
    _notify_after_commit([event.pk])
    return event


def event_record_many(*, type: str, items, actor=None) -> list[Event]:
    """Record one event of ``type`` per item (a dict of objects, as event_record takes them) in
    a fixed number of queries, for the bulk writers (health sweep, usage, statements)."""
    items = list(items)
    if not items:
        return []
    who = Actor.of(actor)
    version = event_type(type).version
    rows = []
    for item in items:
        objects = {name: item.get(name) for name in _OBJECT_NAMES}
        payload = event_payload(type=type, objects=objects, data=item.get("data"))
        ids = _ids(objects, lookup_vendor=False)  # vendor ids are looked up below, in one query
        service_id = ids.get("service_id")
        rows.append((payload, ids, service_id))
    from django.apps import apps

    service_ids = {
        service_id for _p, ids, service_id in rows if service_id and "vendor_id" not in ids
    }
    vendors = (
        dict(
            apps.get_model("services", "Service")
            .objects.filter(pk__in=service_ids)
            .values_list("pk", "vendor_id")
        )
        if service_ids
        else {}
    )
    events = Event.objects.bulk_create(
        [
            Event(
                type=type,
                schema_version=version,
                actor_kind=who.kind,
                actor_label=who.label[:150],
                actor_user_id=who.user_id,
                actor_token_id=who.token_id,
                payload=payload,
                **{"vendor_id": vendors.get(service_id), **ids},
            )
            for payload, ids, service_id in rows
        ]
    )
    _notify_after_commit([event.pk for event in events if event.pk is not None])
    return events


_OBJECT_NAMES = (
    "organization",
    "vendor",
    "service",
    "subscription",
    "tenant",
    "incident",
    "usage_report",
    "statement",
    "webhook_endpoint",
)
