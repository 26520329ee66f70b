"""The market's RS256 signing key and the tokens it issues to vendors.

Service tokens authenticate the market's calls for ``auth.type: jwt`` (``aud`` = service id,
``iss`` = MARKET_BASE_URL, at most 5 minutes). Launch tokens let a user open a vendor tenant
(posted to ``user_access`` as the form field ``launch_token``, never in a URL); each carries a
fresh nonce so a vendor can refuse replays. LTI 1.3 id_tokens (``lti.services``) use the same key.
Vendors verify both with the public keys at ``/.well-known/jwks.json``.

The key comes from the environment variable ``MARKET_JWT_PRIVATE_KEY`` (PEM text, ``\\n``
escapes allowed, or a path to a PEM file). Without it the key is generated once and kept in
``VAR_DIR/jwt-private.pem`` - fine on a laptop, wrong for several web servers, which is why a
deploy check (``checks.check_jwt_key_configured``) insists on the variable in production.

Rotation without a gap (vendors cache the JWKS): the JWKS also publishes
``MARKET_JWT_NEXT_PRIVATE_KEY`` (the key that will sign next) and ``MARKET_JWT_PREVIOUS_KEY``
(the key that signed before, private or public PEM), each in the same forms.

1. Set ``MARKET_JWT_NEXT_PRIVATE_KEY`` to a new key. The JWKS now has two keys; tokens are
   still signed with the current one. Wait longer than vendors cache the JWKS (a day).
2. Move it: ``MARKET_JWT_PRIVATE_KEY`` = the new key, ``MARKET_JWT_PREVIOUS_KEY`` = the old
   one, no next key. New tokens carry the new ``kid``, which every vendor already has.
3. After the longest token lifetime (5 minutes) and the cache time, drop the previous key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from market.lib.env import env_str

logger = logging.getLogger(__name__)

ENV_VAR = "MARKET_JWT_PRIVATE_KEY"
NEXT_ENV_VAR = "MARKET_JWT_NEXT_PRIVATE_KEY"
PREVIOUS_ENV_VAR = "MARKET_JWT_PREVIOUS_KEY"
ALGORITHM = "RS256"
MAX_TOKEN_TTL = 300
SERVICE_TOKEN_USE = "service"
LAUNCH_TOKEN_USE = "launch"


def _key_file() -> Path:
    return Path(settings.VAR_DIR) / "jwt-private.pem"


def _load_pem(data: bytes, origin: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{origin} does not hold a PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{origin} must hold an RSA private key (RS256).")
    return key


def _generated_key(path: Path) -> rsa.RSAPrivateKey:
    """Load the development key file, creating it exactly once even with several processes."""
    if path.exists():
        return _load_pem(path.read_bytes(), str(path))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process won the race; use its key so both sign with the same one.
        return _load_pem(path.read_bytes(), str(path))
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    if not settings.DEBUG:
        logger.warning("Generated a JWT signing key in %s; set %s in production.", path, ENV_VAR)
    return key


def configured_key() -> str:
    """``MARKET_JWT_PRIVATE_KEY`` as set (PEM text or a path), or "" when it is not."""
    return env_str(ENV_VAR, "")


@functools.cache
def market_private_key() -> rsa.RSAPrivateKey:
    """The market's RSA signing key (cached; ``market_private_key.cache_clear()`` in tests)."""
    value = configured_key()
    if not value:
        return _generated_key(_key_file())
    if value.startswith("-----BEGIN"):
        return _load_pem(value.replace("\\n", "\n").encode(), ENV_VAR)
    return _load_pem(Path(value).read_bytes(), f"{ENV_VAR} file {value}")


@functools.cache
def _published_key(name: str, value: str) -> rsa.RSAPublicKey:
    """The public key in an extra JWKS variable (cached per value, so a change is seen)."""
    data = value.replace("\\n", "\n").encode() if value.startswith("-----BEGIN") else None
    origin = name if data is not None else f"{name} file {value}"
    if data is None:
        try:
            data = Path(value).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(f"{origin} cannot be read: {exc}") from exc
    if b"PRIVATE KEY" in data:
        return _load_pem(data, origin).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{origin} does not hold a PEM key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ImproperlyConfigured(f"{origin} must hold an RSA key (RS256).")
    return key


def published_public_keys() -> list[rsa.RSAPublicKey]:
    """Every key vendors should accept: the current one, then the next and the previous."""
    keys = [market_private_key().public_key()]
    rotation = {
        NEXT_ENV_VAR: env_str(NEXT_ENV_VAR, ""),
        PREVIOUS_ENV_VAR: env_str(PREVIOUS_ENV_VAR, ""),
    }
    for name, value in rotation.items():
        if value:
            keys.append(_published_key(name, value))
    return keys


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@functools.cache
def _jwk_fields(n: int, e: int) -> dict[str, str]:
    return {"e": _b64url_uint(e), "kty": "RSA", "n": _b64url_uint(n)}


@functools.cache
def _thumbprint(n: int, e: int) -> str:
    canonical = json.dumps(_jwk_fields(n, e), separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def key_id() -> str:
    """The RFC 7638 thumbprint of the public key: stable for a key, new after a rotation."""
    numbers = market_private_key().public_key().public_numbers()
    return _thumbprint(numbers.n, numbers.e)


def public_jwks() -> dict[str, Any]:
    """The JSON Web Key Set served at ``/.well-known/jwks.json``: the signing key first, then
    the next and previous keys of a rotation (two keys during an overlap)."""
    keys, seen = [], set()
    for public_key in published_public_keys():
        numbers = public_key.public_numbers()
        kid = _thumbprint(numbers.n, numbers.e)
        if kid in seen:
            continue
        seen.add(kid)
        jwk = {**_jwk_fields(numbers.n, numbers.e), "kid": kid, "alg": ALGORITHM, "use": "sig"}
        keys.append(jwk)
    return {"keys": keys}


def _market_issuer() -> str:
    return str(settings.MARKET_BASE_URL).rstrip("/")


def _encode(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, market_private_key(), algorithm=ALGORITHM, headers={"kid": key_id()})


def issue_service_token(service_id: str) -> str:
    """A 5-minute RS256 token that authenticates one market call to ``service_id``."""
    now = int(time.time())
    return _encode(
        {
            "iss": _market_issuer(),
            "aud": service_id,
            "sub": "service-market",
            "iat": now,
            "nbf": now,
            "exp": now + MAX_TOKEN_TTL,
            "jti": uuid.uuid4().hex,
            "token_use": SERVICE_TOKEN_USE,
        }
    )


def issue_launch_token(
    *, service_id: str, tenant_id: str, user_id: int | str, role: str, ttl: int = MAX_TOKEN_TTL
) -> str:
    """A short-lived token that lets ``user_id`` open ``tenant_id`` at the vendor.

    ``nonce`` (also the ``jti``) is random per token so vendors can accept each token once.
    """
    if not 0 < ttl <= MAX_TOKEN_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TOKEN_TTL} seconds, got {ttl}")
    now = int(time.time())
    nonce = uuid.uuid4().hex
    return _encode(
        {
            "iss": _market_issuer(),
            "aud": service_id,
            "sub": str(user_id),
            "tenant_id": tenant_id,
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": nonce,
            "nonce": nonce,
            "token_use": LAUNCH_TOKEN_USE,
        }
    )
