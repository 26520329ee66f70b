"""The market's one way out: guarded, bounded HTTP for every outbound call.

- ``guard``: the private-address guard (``check_url``, ``check_address``, ``Allowlist``...).
- ``transport``: the guarded ``requests`` adapter and the per-call deadline watchdog.
- ``http``: the one session policy (``guarded_session``), one exchange (``exchange``) and the
  generic entry point ``request(...) -> OutboundResult`` for non-vendor callers (webhooks,
  LTI). Vendor calls go through ``services.vendor_client`` which is built on this package.

This package imports no app of the market.
"""

from market.lib.outbound.guard import Allowlist, BlockedAddress, HostNotResolvable, check_url
from market.lib.outbound.http import (
    OutboundError,
    OutboundErrorKind,
    OutboundResult,
    guarded_session,
    request,
)

__all__ = [
    "Allowlist",
    "BlockedAddress",
    "HostNotResolvable",
    "OutboundError",
    "OutboundErrorKind",
    "OutboundResult",
    "check_url",
    "guarded_session",
    "request",
]
