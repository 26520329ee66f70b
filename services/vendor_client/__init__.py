"""The only way the market talks to vendor services.

Public API: ``VendorClient`` / ``VendorTarget`` / ``VendorResponse`` (client.py), the guard
(``check_url``, ``check_address``, ``resolve_and_check``, ``BlockedAddress``), and the health
prober (``probe_all``, ``probe_all_sync``, ``ProbeTarget``, ``ProbeOutcome``). Nothing else in
the market imports an HTTP client.
"""

from market.lib.outbound.guard import (
    BlockedAddress,
    HostNotResolvable,
    check_address,
    check_url,
    resolve_and_check,
)
from services.vendor_client.client import (
    UnknownEndpoint,
    VendorClient,
    VendorResponse,
    VendorTarget,
    parse_retry_after,
)
from services.vendor_client.probe import ProbeOutcome, ProbeTarget, probe_all, probe_all_sync

__all__ = [
    "BlockedAddress",
    "HostNotResolvable",
    "ProbeOutcome",
    "ProbeTarget",
    "UnknownEndpoint",
    "VendorClient",
    "VendorResponse",
    "VendorTarget",
    "check_address",
    "check_url",
    "parse_retry_after",
    "probe_all",
    "probe_all_sync",
    "resolve_and_check",
]
