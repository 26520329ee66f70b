"""Request signing for the market's calls into vendor services (standard v1).

The scheme is Standard Webhooks' under our own header names:

    X-Market-Request-Id: <uuid4>               (idempotency key, same on every retry)
    X-Market-Timestamp:  <unix seconds of this attempt>
    X-Market-Signature:  v1,<base64(HMAC-SHA256(secret, "<request_id>.<timestamp>.<raw body>"))>

While two signing secrets are valid (rotation) the market sends one ``v1,...`` value per
secret, separated by single spaces; a receiver accepts the request when any value matches any
of the secrets it knows. The secret is used as its UTF-8 bytes (no base64 decoding, no
``whsec_`` prefix). The raw body of a GET is the empty byte string.

Stdlib only: vendors copy this file or ``pip install`` nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

REQUEST_ID_HEADER = "X-Market-Request-Id"
TIMESTAMP_HEADER = "X-Market-Timestamp"
SIGNATURE_HEADER = "X-Market-Signature"


class SignatureError(Exception):
    """A request whose signature cannot be trusted.

    ``code`` is the standard's error code (``invalid_signature`` or ``stale_timestamp``) so a
    vendor can put it straight into its 401 error body.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def signed_content(*, request_id: str, timestamp: int | str, body: bytes) -> bytes:
    """The exact bytes that are signed: ``<request_id>.<timestamp>.<raw body>``."""
    return f"{request_id}.{timestamp}.".encode() + body


def _digest(secret: str, content: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()


def sign(*, secret: str, request_id: str, timestamp: int, body: bytes) -> str:
    """Return one signature value, ``v1,<base64>``, for one secret."""
    content = signed_content(request_id=request_id, timestamp=int(timestamp), body=body)
    encoded = base64.b64encode(_digest(secret, content)).decode("ascii")
    return f"{SIGNATURE_VERSION},{encoded}"


def signature_header(*, secrets: list[str], request_id: str, timestamp: int, body: bytes) -> str:
    """The ``X-Market-Signature`` value: one ``v1,...`` per secret, space-separated."""
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    return " ".join(
        sign(secret=secret, request_id=request_id, timestamp=timestamp, body=body)
        for secret in secrets
    )


def _parse_timestamp(timestamp_header: str | None) -> int:
    value = (timestamp_header or "").strip()
    # int() alone accepts "+5", " 5" and "5_000"; the header must be plain digits.
    if not value.isdigit() or not value.isascii():
        raise SignatureError(
            "invalid_signature",
            f"{TIMESTAMP_HEADER} must be the Unix time in whole seconds, got {value!r}",
        )
    return int(value)


def _candidate_signatures(signature_header_value: str | None) -> list[bytes]:
    """The decoded ``v1`` signatures in a header; other versions are ignored, not errors."""
    candidates = []
    for token in (signature_header_value or "").split():
        version, _, encoded = token.partition(",")
        if version != SIGNATURE_VERSION or not encoded:
            continue
        try:
            candidates.append(base64.b64decode(encoded, validate=True))
        except ValueError:
            continue
    return candidates


def verify(
    *,
    secrets: list[str],
    request_id: str,
    timestamp_header: str,
    signature_header: str,
    body: bytes,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Raise ``SignatureError`` unless the request is signed by one of ``secrets`` and fresh.

    The signature is checked before the clock, so ``stale_timestamp`` is only ever reported for
    an authentic request: it then means "your clock (or a replay) is off", never "wrong secret".
    Every comparison is constant-time, and every (secret, candidate) pair is compared so the
    time taken does not reveal which secret matched.
    """
    if not request_id:
        raise SignatureError("invalid_signature", f"{REQUEST_ID_HEADER} header is missing")
    timestamp = _parse_timestamp(timestamp_header)
    candidates = _candidate_signatures(signature_header)
    if not candidates:
        raise SignatureError(
            "invalid_signature",
            f"{SIGNATURE_HEADER} header is missing or holds no "
            f"'{SIGNATURE_VERSION},<base64>' value",
        )
    content = signed_content(request_id=request_id, timestamp=timestamp, body=body)
    matched = False
    for secret in secrets:
        expected = _digest(secret, content)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError(
            "invalid_signature",
            "the signature does not match the request id, timestamp and body",
        )
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError(
            "stale_timestamp",
            f"{TIMESTAMP_HEADER} is {int(current - timestamp)} s away from the receiver's clock "
            f"(allowed: {tolerance} s)",
        )
