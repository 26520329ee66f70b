"""The market's side of request signing (standard v1.1, docs/standard/signing.md).

The RFC 9421 signature is made by PyPI ``http-message-signatures`` over the prepared request,
so the signed ``@path`` and ``@query`` are exactly what goes on the wire (after requests has
encoded the URL). The key derivation, key ids and labels are the standard's, shared with the
vendor kit (``vendorkit.signing``); the legacy ``X-Market-Signature`` header is built there too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from vendorkit.signing import COVERED_COMPONENTS, hmac_key, key_id, labels


def signing_keys(secrets: list[str]) -> dict[str, bytes]:
    """``{keyid: HMAC key}``; raises ValueError for a ``whsec_`` secret that is not base64."""
    return {key_id(secret): hmac_key(secret) for secret in secrets}


def sign_prepared(
    prepared: requests.PreparedRequest, *, secrets: list[str], created: int, body: bytes
) -> None:
    """Add ``Content-Digest``, ``Signature-Input`` and ``Signature`` to ``prepared``.

    One signature per valid secret: ``market`` with the current one, ``market-previous``
    with the older one while a rotation overlaps.
    """
    keys = signing_keys(secrets)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys=keys, private_keys=keys),
    )
    when = datetime.fromtimestamp(created, UTC)
    for index, (label, secret) in enumerate(zip(labels(len(secrets)), secrets, strict=True)):
        signer.sign(
            prepared,
            key_id=key_id(secret),
            label=label,
            created=when,
            covered_component_ids=COVERED_COMPONENTS,
            body=body,
            use_existing_digest=index > 0,
            append_if_signature_exists=index > 0,
        )
