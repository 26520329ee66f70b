"""Request signing for the market's calls into vendor services (standard v1.1).

Every market request carries, GET included (docs/standard/signing.md has the whole story and
test vectors):

    X-Market-Request-Id: <uuid4>                      (idempotency key, same on every retry)
    Content-Digest:      sha-256=:<base64(sha256(raw body))>:                    (RFC 9530)
    Signature-Input:     market=("@method" "@path" "@query" "content-digest" \
                         "x-market-request-id");created=<unix s>;keyid="<key id>";alg="hmac-sha256"
    Signature:           market=:<base64 HMAC-SHA256>:                            (RFC 9421)

The HMAC key is the base64-decoded part of the ``whsec_<base64>`` secret (Standard Webhooks'
secret format). While two secrets are valid (rotation) a second signature labelled
``market-previous`` is made with the older secret. Receivers reject ``created`` more than
300 s from their clock. Because the method, the path and query, the body's digest and the
request id are signed, a request replayed to another path, tenant or method fails.

Deprecated, still sent until 2027-06-30 so v1.0 vendors keep working (``sign``/``verify``):

    X-Market-Timestamp:  <unix seconds of this attempt>
    X-Market-Signature:  v1,<base64(HMAC-SHA256(secret, "<request_id>.<timestamp>.<raw body>"))>

where the key is the whole secret string as UTF-8 bytes (one ``v1,`` value per valid secret,
space-separated). It does not bind the method or the path: verify the RFC 9421 signature.

Stdlib only: vendors copy this file or ``pip install`` nothing. Off-the-shelf verifiers (PyPI
and npm ``http-message-signatures``) accept the same headers; the tests prove it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as _random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

REQUEST_ID_HEADER = "X-Market-Request-Id"
# Legacy (v1.0) headers: sent until LEGACY_SIGNATURE_END, then dropped.
TIMESTAMP_HEADER = "X-Market-Timestamp"
SIGNATURE_HEADER = "X-Market-Signature"
LEGACY_SIGNATURE_END = "2027-06-30"

# RFC 9421 / RFC 9530 (standard v1.1).
CONTENT_DIGEST_HEADER = "Content-Digest"
SIGNATURE_INPUT_HEADER = "Signature-Input"
MESSAGE_SIGNATURE_HEADER = "Signature"
ALGORITHM = "hmac-sha256"
LABEL = "market"
PREVIOUS_LABEL = "market-previous"
COVERED_COMPONENTS = ("@method", "@path", "@query", "content-digest", "x-market-request-id")
SECRET_PREFIX = "whsec_"
# Every header the market's signing adds (what a report or a log may show; none is secret).
MARKET_SIGNATURE_HEADERS = frozenset(
    {
        REQUEST_ID_HEADER,
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
        CONTENT_DIGEST_HEADER,
        SIGNATURE_INPUT_HEADER,
        MESSAGE_SIGNATURE_HEADER,
    }
)


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


# --- standard v1.1: RFC 9421 HTTP Message Signatures over an RFC 9530 Content-Digest -----------


def new_secret() -> str:
    """A fresh signing secret in Standard Webhooks' format: ``whsec_`` + base64 of 32 bytes."""
    return SECRET_PREFIX + base64.b64encode(_random.token_bytes(32)).decode("ascii")


def hmac_key(secret: str) -> bytes:
    """The HMAC key of a signing secret: the base64-decoded bytes after ``whsec_``.

    Both base64 alphabets are accepted and padding is optional (secrets issued before v1.1 use
    the URL-safe alphabet without padding; Node's ``Buffer.from(s, "base64")`` reads both the
    same way). A secret without the prefix (a development secret typed by hand) is used as its
    UTF-8 bytes.
    """
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(SECRET_PREFIX) :].translate(str.maketrans("-_", "+/")).rstrip("=")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ValueError("a whsec_ signing secret must be base64 after its prefix")
    return key


def key_id(secret: str) -> str:
    """The public name of a secret in ``keyid``: ``mk_`` + 16 hex digits of SHA-256 of it.

    A receiver holding two secrets during a rotation finds by it which one to verify with; it
    reveals nothing usable about the secret.
    """
    return "mk_" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def content_digest(body: bytes) -> str:
    """The ``Content-Digest`` value of a raw body (RFC 9530), the empty body included."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def labels(count: int) -> list[str]:
    """Signature labels for ``count`` secrets, the current one first."""
    return [LABEL, PREVIOUS_LABEL, *(f"{PREVIOUS_LABEL}-{n}" for n in range(2, count))][:count]


# What stays as it is on a request line: RFC 3986 pchar, "/" and "?", and "%" so a URL that is
# already percent-encoded is not encoded twice (what requests and browsers do to a URL).
_TARGET_SAFE = "/?%:@!$&'()*+,;=-._~"


def target_of(url: str) -> tuple[str, str]:
    """``(@path, @query)`` of a request URL or request target, as RFC 9421 derives them.

    Both are taken as they go on the request line: a space or a non-ASCII character is
    percent-encoded first, as an HTTP client does before sending.
    """
    parts = urlsplit(url)
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    return path, "?" + quote(parts.query, safe=_TARGET_SAFE)


def _sf_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def signature_params(
    *, created: int, keyid: str, components=COVERED_COMPONENTS, order=("created", "keyid", "alg")
) -> str:
    """The serialized ``@signature-params`` (and ``Signature-Input`` member) value.

    The market writes ``created``, ``keyid``, ``alg`` in that order; a verifier passes the
    order it received, since the parameters are signed as serialized.
    """
    values = {
        "created": str(int(created)),
        "keyid": _sf_string(keyid),
        "alg": _sf_string(ALGORITHM),
    }
    inner = " ".join(_sf_string(name) for name in components)
    return f"({inner})" + "".join(f";{name}={values[name]}" for name in order)


def signature_base(
    *,
    method: str,
    path: str,
    query: str,
    digest: str,
    request_id: str,
    created: int,
    keyid: str,
    order=("created", "keyid", "alg"),
) -> bytes:
    """The exact bytes the RFC 9421 signature is computed over (section 2.5)."""
    values = {
        "@method": method.upper(),
        "@path": path,
        "@query": query,
        "content-digest": digest,
        "x-market-request-id": request_id,
    }
    lines = [f'"{name}": {values[name]}' for name in COVERED_COMPONENTS]
    params = signature_params(created=created, keyid=keyid, order=order)
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("ascii")


def message_signature_headers(
    *,
    secrets: list[str],
    method: str,
    url: str,
    request_id: str,
    created: int,
    body: bytes,
) -> dict[str, str]:
    """``Content-Digest``, ``Signature-Input`` and ``Signature`` for one request."""
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    path, query = target_of(url)
    digest = content_digest(body)
    inputs, signatures = [], []
    for label, secret in zip(labels(len(secrets)), secrets, strict=True):
        keyid = key_id(secret)
        base = signature_base(
            method=method,
            path=path,
            query=query,
            digest=digest,
            request_id=request_id,
            created=created,
            keyid=keyid,
        )
        mac = hmac.new(hmac_key(secret), base, hashlib.sha256).digest()
        inputs.append(f"{label}={signature_params(created=created, keyid=keyid)}")
        signatures.append(f"{label}=:{base64.b64encode(mac).decode('ascii')}:")
    return {
        CONTENT_DIGEST_HEADER: digest,
        SIGNATURE_INPUT_HEADER: ", ".join(inputs),
        MESSAGE_SIGNATURE_HEADER: ", ".join(signatures),
    }


def request_signature_headers(
    *,
    secrets: list[str],
    method: str,
    url: str,
    request_id: str,
    timestamp: int,
    body: bytes,
) -> dict[str, str]:
    """Every signing header the market sends: the request id, RFC 9421 and the legacy pair."""
    headers = {REQUEST_ID_HEADER: request_id, TIMESTAMP_HEADER: str(int(timestamp))}
    headers[SIGNATURE_HEADER] = signature_header(
        secrets=secrets, request_id=request_id, timestamp=timestamp, body=body
    )
    headers.update(
        message_signature_headers(
            secrets=secrets,
            method=method,
            url=url,
            request_id=request_id,
            created=int(timestamp),
            body=body,
        )
    )
    return headers


# A small RFC 8941 (Structured Field Values) reader: enough for Signature-Input, Signature and
# Content-Digest. Anything it cannot read is a malformed header, never an exception elsewhere.

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*")
_INTEGER = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,3})?")


class _Malformed(ValueError):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def skip(self, chars: str = " ") -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise _Malformed(f"expected {char!r} at {self.pos}")
        self.pos += 1

    def match(self, pattern: re.Pattern) -> str:
        found = pattern.match(self.text, self.pos)
        if not found:
            raise _Malformed(f"unexpected {self.peek()!r} at {self.pos}")
        self.pos = found.end()
        return found.group(0)

    def bare_item(self):
        char = self.peek()
        if char == '"':
            self.pos += 1
            out = []
            while True:
                char = self.peek()
                if not char:
                    raise _Malformed("unterminated string")
                self.pos += 1
                if char == "\\":
                    escaped = self.peek()
                    if escaped not in ('"', "\\"):
                        raise _Malformed("bad escape in string")
                    out.append(escaped)
                    self.pos += 1
                elif char == '"':
                    return "".join(out)
                elif not (" " <= char <= "~"):
                    raise _Malformed("non-ASCII character in string")
                else:
                    out.append(char)
        if char == ":":
            self.pos += 1
            end = self.text.find(":", self.pos)
            if end < 0:
                raise _Malformed("unterminated byte sequence")
            encoded, self.pos = self.text[self.pos : end], end + 1
            try:
                return base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise _Malformed("bad base64 in byte sequence") from None
        if char == "?":
            self.pos += 1
            flag = self.peek()
            if flag not in ("0", "1"):
                raise _Malformed("bad boolean")
            self.pos += 1
            return flag == "1"
        if char == "-" or char.isdigit():
            number = self.match(_INTEGER)
            return float(number) if "." in number else int(number)
        return _Token(self.match(_TOKEN))

    def parameters(self) -> dict:
        params: dict = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip()
            name = self.match(_KEY)
            value = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[name] = value
        return params

    def member(self):
        if self.peek() == "(":
            self.pos += 1
            items = []
            while True:
                self.skip()
                if self.peek() == ")":
                    self.pos += 1
                    break
                item = self.bare_item()
                items.append((item, self.parameters()))
                if self.peek() not in (" ", ")"):
                    raise _Malformed("bad inner list")
            return items, self.parameters()
        return self.bare_item(), self.parameters()

    def dictionary(self) -> dict:
        members: dict = {}
        self.skip()
        while self.pos < len(self.text):
            name = self.match(_KEY)
            if self.peek() == "=":
                self.pos += 1
                members[name] = self.member()
            else:
                members[name] = (True, self.parameters())
            self.skip(" \t")
            if self.pos >= len(self.text):
                break
            self.expect(",")
            self.skip(" \t")
            if self.pos >= len(self.text):
                raise _Malformed("trailing comma")
        return members


class _Token(str):
    pass


def parse_dictionary(value: str) -> dict:
    """An RFC 8941 dictionary: ``{key: (value, params)}``; raises ValueError when malformed."""
    return _Reader(value.strip()).dictionary()


@dataclass(frozen=True)
class VerifiedSignature:
    label: str
    keyid: str
    created: int


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def _digest_matches(header_value: str, body: bytes) -> bool:
    try:
        members = parse_dictionary(header_value)
    except ValueError:
        return False
    value = members.get("sha-256", (None, {}))[0]
    if not isinstance(value, bytes):
        return False
    return hmac.compare_digest(value, hashlib.sha256(body).digest())


def verify_request(
    *,
    secrets: list[str],
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> VerifiedSignature:
    """Raise ``SignatureError`` unless the RFC 9421 signature binds this very request.

    ``target`` is the request target as received (path and query, ``self.path`` in
    ``http.server``), ``body`` the raw bytes. The digest must match the body, and a signature
    made with a key this receiver holds must cover exactly the standard's components (method,
    path, query, digest, request id) with these values; then ``created`` must be within
    ``tolerance`` seconds. The signature is checked before the clock, so ``stale_timestamp``
    is only reported for an authentic request.
    """
    request_id = _header(headers, REQUEST_ID_HEADER)
    if not request_id:
        raise SignatureError("invalid_signature", f"{REQUEST_ID_HEADER} header is missing")
    raw_inputs = _header(headers, SIGNATURE_INPUT_HEADER)
    raw_signatures = _header(headers, MESSAGE_SIGNATURE_HEADER)
    if not raw_inputs or not raw_signatures:
        raise SignatureError(
            "invalid_signature",
            f"{SIGNATURE_INPUT_HEADER} and {MESSAGE_SIGNATURE_HEADER} headers are required "
            "(RFC 9421, standard v1.1)",
        )
    try:
        inputs = parse_dictionary(raw_inputs)
        signatures = parse_dictionary(raw_signatures)
    except ValueError as exc:
        raise SignatureError("invalid_signature", f"malformed signature headers ({exc})") from None
    digest = _header(headers, CONTENT_DIGEST_HEADER)
    if not digest or not _digest_matches(digest, body):
        raise SignatureError(
            "invalid_signature",
            f"{CONTENT_DIGEST_HEADER} is missing or is not the sha-256 of the body",
        )
    by_keyid: dict[str, list[str]] = {}
    for secret in secrets:
        by_keyid.setdefault(key_id(secret), []).append(secret)
    path, query = target_of(target)
    known_key = False
    verified: VerifiedSignature | None = None
    for label, (components, params) in inputs.items():
        keyid = params.get("keyid")
        created = params.get("created")
        if not isinstance(components, list) or not isinstance(keyid, str):
            continue
        if keyid not in by_keyid:
            continue
        known_key = True
        names = tuple(name for name, item_params in components if not item_params)
        mac = signatures.get(label, (None, {}))[0]
        if (
            names != COVERED_COMPONENTS
            or len(components) != len(COVERED_COMPONENTS)
            or not isinstance(created, int)
            or isinstance(created, bool)
            or params.get("alg", ALGORITHM) != ALGORITHM
            or set(params) - {"created", "keyid", "alg"}
            or not {"created", "keyid"} <= set(params)
            or not isinstance(mac, bytes)
        ):
            continue
        try:
            base = signature_base(
                method=method,
                path=path,
                query=query,
                digest=digest,
                request_id=request_id,
                created=created,
                keyid=keyid,
                order=tuple(params),
            )
        except UnicodeEncodeError:
            continue  # a signature base is ASCII: nothing non-ASCII was signed
        for secret in by_keyid[keyid]:
            expected = hmac.new(hmac_key(secret), base, hashlib.sha256).digest()
            if hmac.compare_digest(expected, mac) and verified is None:
                verified = VerifiedSignature(label=label, keyid=keyid, created=created)
    if verified is None:
        if not known_key:
            raise SignatureError(
                "invalid_signature",
                "no signature is made with a signing secret this service holds "
                "(compare the keyid values in Signature-Input with your secrets' key ids)",
            )
        raise SignatureError(
            "invalid_signature",
            "the signature does not match this request's method, path, query, "
            "Content-Digest and request id",
        )
    current = time.time() if now is None else now
    if abs(current - verified.created) > tolerance:
        raise SignatureError(
            "stale_timestamp",
            f"the signature's created time is {int(current - verified.created)} s away from "
            f"the receiver's clock (allowed: {tolerance} s)",
        )
    return verified
