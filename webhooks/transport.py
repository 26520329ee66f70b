"""The one function that sends a webhook, through the market's guarded client.

`market.lib.outbound.request` owns the private-address guard (before DNS and at connect time),
the connect timeout, the hard total deadline, the response-size cap, no redirects, no proxies
and no cookies; nothing else in the webhooks app talks HTTP.
"""

from __future__ import annotations

import threading

from market.lib.outbound import OutboundResult, guarded_session, request
from webhooks import conf

USER_AGENT = "ServiceMarket-Webhooks/1.0"
# One guarded session per worker thread: connections to a receiver are kept alive between its
# deliveries (the guard checks each new connection; cookies are never kept).
_local = threading.local()


def _session():
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = guarded_session()
    return session


def post(url: str, *, headers: dict, body: bytes) -> OutboundResult:
    """POST ``body`` to ``url``; every failure is data (error_kind), never an exception."""
    return request(
        "POST",
        url,
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
        body=body,
        connect_timeout=conf.connect_timeout(),
        total_timeout=conf.total_timeout(),
        max_bytes=conf.max_response_bytes(),
        session=_session(),
    )
