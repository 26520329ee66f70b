"""The one function that sends a webhook, through the market's guarded client.

`market.lib.outbound.request` owns the private-address guard (before DNS and at connect time),
the connect timeout, the hard total deadline, the response-size cap, no redirects, no proxies
and no cookies; nothing else in the webhooks app talks HTTP.
"""

from __future__ import annotations

from market.lib.outbound import OutboundResult, request
from webhooks import conf

USER_AGENT = "ServiceMarket-Webhooks/1.0"


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
    )
