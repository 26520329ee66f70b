"""Registering webhook endpoints, rotating their secrets, sending again and test events."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from events.models import Event
from events.registry import EVENT_TYPES
from events.services import EventError, event_record
from market.errors import DomainError
from market.lib.outbound import request
from market.lib.outbound.guard import BlockedAddress, check_url, split_url
from webhooks import conf, dispatch, signing
from webhooks.models import Delivery, Endpoint

MAX_ENDPOINTS_PER_OWNER = 20
SUBSCRIBABLE = sorted(name for name in EVENT_TYPES if name != "webhook.test")


_STATUS = {"too_many_endpoints": 409, "payload_too_large": 413}


class WebhookError(DomainError):
    """A refused endpoint or request, with the field to fix and a message saying how.

    The API answers it as a problem of type `webhook-<code>` (422, or 409 / 413 by code).
    """

    title = _lazy("The webhook request was refused")

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None):
        super().__init__(message, field=field)
        self.code = code

    @property
    def status(self) -> int:
        return _STATUS.get(self.code, 422)

    @property
    def slug(self) -> str:
        return f"webhook-{self.code.replace('_', '-')}"


def _check_event_types(event_types) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise WebhookError(
            _('Give a list of event types, or ["*"] for all of them.'), field="event_types"
        )
    unknown = [t for t in event_types if t != "*" and t not in SUBSCRIBABLE]
    if unknown:
        raise WebhookError(
            _("Unknown event type(s): %(unknown)s. Known types: %(known)s.")
            % {"unknown": ", ".join(map(str, unknown)), "known": ", ".join(SUBSCRIBABLE)},
            code="unknown_event_type",
            field="event_types",
        )
    return sorted(set(event_types))


def _check_url(url: str) -> str:
    url = (url or "").strip()
    try:
        scheme, host, port = split_url(url)
    except BlockedAddress as error:
        raise WebhookError(str(error), code="url_refused", field="url") from None
    try:
        check_url(url)  # every address of the host must be public (or allowlisted by staff)
    except BlockedAddress as error:
        raise WebhookError(str(error), code="url_private", field="url") from None
    if scheme != "https" and not conf.http_allowed(host):
        raise WebhookError(
            _("Use an https:// URL: webhooks are only sent over TLS."),
            code="url_not_https",
            field="url",
        )
    # Any HTTP answer (a 405 too) proves the receiver is up; no answer at all refuses it.
    probe = request(
        "HEAD",
        url,
        connect_timeout=conf.connect_timeout(),
        total_timeout=conf.connect_timeout(),
        max_bytes=1024,
    )
    if probe.status is None:
        raise WebhookError(
            _("%(host)s:%(port)s cannot be reached (%(error)s): start the receiver first.")
            % {"host": host, "port": port, "error": probe.error},
            code="url_private" if probe.error_kind == "blocked" else "url_unreachable",
            field="url",
        )
    return url


def _owner_fields(principal) -> dict:
    if principal.is_staff:
        return {"owner_kind": Endpoint.Owner.STAFF}
    if principal.is_school:
        return {
            "owner_kind": Endpoint.Owner.ORGANIZATION,
            "organization_id": principal.organization_id,
        }
    if principal.is_vendor:
        return {"owner_kind": Endpoint.Owner.VENDOR, "vendor_id": principal.vendor_id}
    raise WebhookError(_("Only staff, schools and vendors can register webhooks."))


def endpoint_create(
    *, principal, url: str, event_types: list[str], description: str = "", created_by=None
) -> Endpoint:
    """Register an endpoint for the caller's organisation (its secret is on the row)."""
    event_types = _check_event_types(event_types)
    owner = _owner_fields(principal)
    if Endpoint.objects.filter(**owner).count() >= MAX_ENDPOINTS_PER_OWNER:
        raise WebhookError(
            _("You have %(n)s endpoints, the most allowed: delete one first.")
            % {"n": MAX_ENDPOINTS_PER_OWNER},
            code="too_many_endpoints",
        )
    url = _check_url(url)
    with transaction.atomic():
        return Endpoint.objects.create(
            **owner,
            url=url,
            event_types=event_types,
            description=description[:200],
            secret=signing.secret_new(),
            created_by=created_by,
        )


def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> Endpoint:
    """Change an endpoint; enabling it again sends what waited meanwhile."""
    fields = {}
    if event_types is not None:
        fields["event_types"] = _check_event_types(event_types)
    if url is not None and url != endpoint.url:
        fields["url"] = _check_url(url)
    if description is not None:
        fields["description"] = description[:200]
    enabling = is_active is True and not endpoint.is_active
    with transaction.atomic():
        for name, value in fields.items():
            setattr(endpoint, name, value)
        if enabling:
            endpoint.is_active = True
            endpoint.consecutive_failures = 0
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
        elif is_active is False and endpoint.is_active:
            endpoint.is_active = False
            endpoint.disabled_at = timezone.now()
            endpoint.disabled_reason = _("Disabled by its owner.")
        endpoint.save()
        if enabling:
            waiting = Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.PENDING)
            waiting.update(next_attempt_at=timezone.now())
            dispatch._enqueue(list(waiting.values_list("pk", flat=True)))
    return endpoint


def endpoint_rotate_secret(*, endpoint: Endpoint, overlap_hours: int | None = None) -> Endpoint:
    """A new secret; the old one keeps signing (as a second signature) for the overlap window."""
    hours = conf.secret_overlap_hours() if overlap_hours is None else overlap_hours
    if not 0 <= hours <= 24 * 7:
        raise WebhookError(_("Choose an overlap from 0 to 168 hours."), field="overlap_hours")
    with transaction.atomic():
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=hours)
        endpoint.secret = signing.secret_new()
        endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Send a delivery again now, under the same webhook-id."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state == Delivery.State.IN_FLIGHT:
            raise WebhookError(_("This delivery is being sent right now: wait for its answer."))
        delivery.state = Delivery.State.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.finished_at = None
        delivery.save()
        dispatch._enqueue([delivery.pk], manual=True)
    return delivery


def endpoint_send_test(*, endpoint: Endpoint, message: str = "", actor=None) -> Delivery:
    """A `webhook.test` event for this endpoint alone (it reaches no other endpoint)."""
    try:
        with transaction.atomic():
            event = event_record(
                type="webhook.test",
                actor=actor,
                organization=endpoint.organization_id,
                vendor=endpoint.vendor_id,
                data={"message": message or "Hello from the Service Market"},
            )
            Event.objects.filter(pk=event.pk).update(published_at=timezone.now())
            delivery = Delivery.objects.create(
                endpoint=endpoint, event=event, message_id=Delivery.new_message_id()
            )
            dispatch._enqueue([delivery.pk], manual=not endpoint.is_active)
    except EventError as error:
        raise WebhookError(error.message, code=error.code, field="message") from None
    return delivery
