"""Checking that a request comes from the market: authentication, signature, freshness.

Order (docs/standard/README.md section 2): authentication → ``401 unauthorized``; the
signature → ``401 invalid_signature``; the timestamp → ``401 stale_timestamp``.

Two signature schemes are accepted (docs/standard/signing.md, standard v1.1):

- RFC 9421 HTTP Message Signatures with an RFC 9530 ``Content-Digest``, verified with PyPI
  ``http-message-signatures``: label ``market`` (and ``market-previous`` during a rotation),
  covering ``"@method" "@path" "@query" "content-digest" "x-market-request-id"``,
  ``alg="hmac-sha256"``, key = base64-decoded bytes after the secret's ``whsec_`` prefix;
- the legacy ``X-Market-Timestamp`` + ``X-Market-Signature: v1,...`` (deprecated, sent until
  2027-06-30), verified by ``vendorkit.signing``.

When ``Signature-Input`` is present the RFC 9421 signature decides; otherwise the legacy one
does, unless the adapter was built with ``accept_legacy=False``.
"""

from __future__ import annotations

import datetime
import hmac
import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vendorkit import signing
from vendorkit.signing import REQUEST_ID_HEADER, SignatureError
from vendorkit.signing import verify as verify_legacy

SIGNATURE_LABEL = re.compile(
    r"(?<![\w-])(market(?:-previous(?:-\d+)?)?)="
)  # market-previous-2, ...
COVERED_COMPONENTS = ("@method", "@path", "@query", "content-digest", "x-market-request-id")

BearerVerifier = Callable[[str], bool]


class Refused(Exception):  # noqa: N818
    """The request is not the market's: answer 401 with ``code`` and ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedRequest:
    """What verification needs: the request as it arrived."""

    method: str
    url: str  # absolute, with the raw (still percent-encoded) path and query
    headers: dict[str, str]  # lower-case names
    body: bytes


def hmac_key(secret: str) -> bytes | None:
    """The RFC 9421 HMAC key of a signing secret, as ``vendorkit.signing`` derives it (the
    base64 bytes after ``whsec_``, either alphabet; a secret without the prefix as its UTF-8
    bytes); None for a ``whsec_`` secret that is not base64."""
    try:
        return signing.hmac_key(secret)
    except ValueError:
        return None


def check_api_key(*, presented: str, keys: Iterable[str], header: str) -> None:
    matched = False
    for key in keys:  # every key compared, so timing does not tell which one matched
        matched |= hmac.compare_digest(presented.encode(), key.encode())
    if not presented or not matched:
        raise Refused("unauthorized", f"missing or wrong {header} header")


def check_bearer(*, authorization: str, verifier: BearerVerifier) -> None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("unauthorized", "missing Authorization: Bearer <token> header")
    try:
        accepted = verifier(token.strip())
    except Exception:  # a verifier that raises has not accepted the token
        accepted = False
    if not accepted:
        raise Refused("unauthorized", "the bearer token is not valid")


class _Message:
    """The request shape ``http-message-signatures`` reads: method, absolute url, headers."""

    def __init__(self, request: SignedRequest) -> None:
        self.method = request.method
        self.url = request.url
        self.headers = request.headers


class _Keys:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def resolve_public_key(self, key_id: str) -> bytes:
        return self.key

    def resolve_private_key(self, key_id: str) -> bytes:
        return self.key


def _verify_rfc9421(request: SignedRequest, secrets: list[str]) -> int:
    """Return the signature's ``created`` when one label verifies with one secret."""
    from http_message_signatures import HTTPMessageVerifier, InvalidSignature, algorithms
    from http_message_signatures.exceptions import HTTPMessageSignaturesException

    if "content-digest" not in request.headers:
        raise Refused("invalid_signature", "the Content-Digest header is missing")
    if not request.headers.get(REQUEST_ID_HEADER.lower()):
        raise Refused("invalid_signature", f"{REQUEST_ID_HEADER} header is missing")
    keys = [key for key in (hmac_key(secret) for secret in secrets) if key]
    if not keys:
        raise Refused("invalid_signature", "no usable signing secret is configured")
    inputs = request.headers.get("signature-input", "")
    labels = list(dict.fromkeys(SIGNATURE_LABEL.findall(inputs))) or ["market"]
    last_error = "the signature does not match"
    for key in keys:
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.HMAC_SHA256, key_resolver=_Keys(key)
        )
        # The window is ours (±tolerance, checked after the signature), not the library's.
        verifier.max_clock_skew = datetime.timedelta(days=36500)
        verifier.allow_label_only_selection = True  # our labels are fixed by the standard
        for label in labels:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    results = verifier.verify(
                        _Message(request),
                        max_age=None,
                        expect_label=label,
                        require_components=COVERED_COMPONENTS,
                        body=request.body,
                    )
            except (InvalidSignature, HTTPMessageSignaturesException) as error:
                last_error = str(error) or type(error).__name__
                continue
            return int(results[0].parameters["created"])
    raise Refused("invalid_signature", f"RFC 9421 signature refused: {last_error}")


def check_signature(
    request: SignedRequest,
    *,
    secrets: list[str],
    tolerance: int,
    accept_legacy: bool,
    now: float | None = None,
) -> str:
    """Raise ``Refused`` unless signed by one of ``secrets`` and fresh; return the scheme used."""
    current = time.time() if now is None else now
    if "signature-input" in request.headers or "signature" in request.headers:
        created = _verify_rfc9421(request, secrets)
        if abs(current - created) > tolerance:
            raise Refused(
                "stale_timestamp",
                f"the signature was created {int(current - created)} s away from the "
                f"receiver's clock (allowed: {tolerance} s)",
            )
        return "rfc9421"
    if not accept_legacy:
        raise Refused("invalid_signature", "the Signature and Signature-Input headers are missing")
    try:
        verify_legacy(
            secrets=secrets,
            request_id=request.headers.get("x-market-request-id", ""),
            timestamp_header=request.headers.get("x-market-timestamp", ""),
            signature_header=request.headers.get("x-market-signature", ""),
            body=request.body,
            now=current,
            tolerance=tolerance,
        )
    except SignatureError as error:
        raise Refused(error.code, error.message) from error
    return "legacy"


def jwt_bearer_verifier(
    *,
    jwks_url: str,
    audience: str,
    issuer: str,
    token_use: str = "service",  # noqa: S107
) -> BearerVerifier:
    """A verifier for ``auth.type: jwt``: RS256 service tokens checked against the market's JWKS
    (needs PyJWT: ``pip install "PyJWT[crypto]"``)."""
    import jwt

    client = jwt.PyJWKClient(jwks_url)

    def verify(token: str) -> bool:
        key = client.get_signing_key_from_jwt(token).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
        return claims.get("token_use") == token_use and claims["exp"] <= time.time() + 330

    return verify
