"""The conformance kit's transport when the market runs it: the vendor client's guard and bounds.

The kit (``vendorkit.conformance``) brings its own stdlib transport for vendors who run it
themselves; the market swaps in this one, built on the same session policy and exchange as
``VendorClient`` (``market.lib.outbound.http``), so a run against a registered service obeys the
same private-address guard, timeouts, size cap and no-redirect rule as every other vendor call.
An answer over the size cap comes back cut and marked ``truncated`` (the kit reports it).
"""

from __future__ import annotations

from django.conf import settings

from market.lib.outbound.http import OutboundError, exchange, guarded_session
from market.lib.outbound.transport import CallDeadline
from vendorkit.conformance import HttpReply, TransportError


class GuardedTransport:
    """The kit's transport over the vendor client's guarded session."""

    def __init__(self) -> None:
        self.session = guarded_session()

    def close(self) -> None:
        self.session.close()

    def __call__(
        self, method: str, url: str, *, headers: dict[str, str], body: bytes, timeout: float
    ) -> HttpReply:
        total = min(float(settings.VENDOR_TOTAL_TIMEOUT), timeout)
        try:
            with CallDeadline(total) as deadline:
                reply = exchange(
                    self.session,
                    method,
                    url,
                    headers=headers,
                    data=body,
                    deadline=deadline,
                    connect_timeout=float(settings.VENDOR_CONNECT_TIMEOUT),
                    max_bytes=int(settings.VENDOR_MAX_RESPONSE_BYTES),
                    truncate=True,
                )
        except OutboundError as failure:
            raise TransportError(failure.message) from failure
        return HttpReply(
            status=reply.status,
            headers={name.lower(): value for name, value in reply.headers.items()},
            body=reply.content,
            truncated=reply.truncated,
        )
