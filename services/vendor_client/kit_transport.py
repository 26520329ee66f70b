"""The conformance kit's transport when the market runs it: the vendor client's guard and bounds.

The kit (``vendorkit.conformance``) brings its own stdlib transport for vendors who run it
themselves; the market swaps in this one so a run against a registered service obeys the same
private-address guard, timeouts, size cap and no-redirect rule as every other vendor call.
"""

from __future__ import annotations

import requests
from django.conf import settings

from services.vendor_client.guard import BlockedAddress, precheck_url
from services.vendor_client.transport import CallDeadline, GuardedHTTPAdapter
from vendorkit.conformance import HttpReply, TransportError

_READ_CHUNK = 64 * 1024


class GuardedTransport:
    """The kit's transport over the vendor client's guarded ``requests`` adapter."""

    def __init__(self) -> None:
        self.session = requests.Session()
        # No proxies, .netrc or CA bundle from the environment: what is called is what is checked.
        self.session.trust_env = False
        adapter = GuardedHTTPAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __call__(
        self, method: str, url: str, *, headers: dict[str, str], body: bytes, timeout: float
    ) -> HttpReply:
        try:
            precheck_url(url)
        except BlockedAddress as exc:
            raise TransportError(str(exc)) from exc
        total = min(float(settings.VENDOR_TOTAL_TIMEOUT), timeout)
        with CallDeadline(total) as deadline:
            try:
                response = self.session.request(
                    method,
                    url,
                    data=body or None,
                    headers=headers,
                    timeout=(min(float(settings.VENDOR_CONNECT_TIMEOUT), total), total),
                    allow_redirects=False,
                    stream=True,
                )
                content, truncated = self._read_capped(response, deadline)
            except BlockedAddress as exc:
                raise TransportError(str(exc)) from exc
            except requests.RequestException as exc:
                if deadline.expired:
                    raise TransportError(f"no complete answer within {total:g} s") from exc
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        if deadline.expired:
            raise TransportError(f"no complete answer within {total:g} s")
        return HttpReply(
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=content,
            truncated=truncated,
        )

    @staticmethod
    def _read_capped(response: requests.Response, deadline: CallDeadline) -> tuple[bytes, bool]:
        cap = int(settings.VENDOR_MAX_RESPONSE_BYTES)
        content = bytearray()
        try:
            for chunk in response.iter_content(chunk_size=_READ_CHUNK):
                content += chunk
                if len(content) > cap or deadline.expired:
                    break
        finally:
            response.close()
        return bytes(content[:cap]), len(content) > cap
