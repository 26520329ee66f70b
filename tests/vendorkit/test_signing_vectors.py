"""The v1.1 signing vectors of docs/standard/signing.md, checked three independent ways.

``vendorkit/signing.py`` must produce exactly the published headers; PyPI
``http-message-signatures`` (with the Python example copied out of the doc and run as it is)
and npm ``http-message-signatures`` (``tests/vendorkit/node/verify-market-request.js``) must
accept them and refuse them once anything signed is changed.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from http_message_signatures import InvalidSignature
from requests.structures import CaseInsensitiveDict
from standardwebhooks import Webhook

from vendorkit.signing import (
    LEGACY_SIGNATURE_END,
    SignatureError,
    hmac_key,
    key_id,
    new_secret,
    request_signature_headers,
    verify_request,
)

ROOT = Path(__file__).resolve().parents[2]
SIGNING_DOC = ROOT / "docs" / "standard" / "signing.md"
NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_VERIFIER = NODE_DIR / "verify-market-request.js"

REQUEST_ID = "8f14e45f-ceea-4e7a-9d2c-1b0a3f5e6d7c"
CREATED = 1767441600  # 2026-01-03T12:00:00Z
S1 = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
S2 = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
DEACTIVATE_URL = "https://vendor.example/mt/tenant/hallym_univ/deactivate"
USAGE_URL = "https://vendor.example/mt/tenant/hallym_univ/usage?period=monthly&month=2026-01"
DEACTIVATE_BODY = (
    b'{"tenant_id":"hallym_univ","reason":"subscription_expired",'
    b'"preserve_data":true,"deactivate_at":"2026-01-03T12:00:00Z"}'
)
INPUT = (
    '{label}=("@method" "@path" "@query" "content-digest" "x-market-request-id")'
    ';created=1767441600;keyid="{keyid}";alg="hmac-sha256"'
)


@pytest.fixture(scope="module")
def vectors():
    """name -> (method, url, body, secrets, the published headers)."""
    return {
        "A": (
            "POST",
            DEACTIVATE_URL,
            DEACTIVATE_BODY,
            [S1],
            {
                "Content-Digest": "sha-256=:/5dWBj4p6+aJP2uZKB+hmZADNrURQNCcFU8Ik+fIWcY=:",
                "Signature-Input": INPUT.format(label="market", keyid="mk_5036e1435aa9756c"),
                "Signature": "market=:WFGgaSLfhXyQcVF00T+iX1JWlA+SSv1+M6sg0VkoElE=:",
                "X-Market-Signature": "v1,Uldix5g7Ea9cvxBQzQKVmvBJy4yDRI2ImcRuV4/ABKM=",
            },
        ),
        "B": (
            "GET",
            USAGE_URL,
            b"",
            [S1],
            {
                "Content-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
                "Signature-Input": INPUT.format(label="market", keyid="mk_5036e1435aa9756c"),
                "Signature": "market=:an/GFk0pzV9p6B1nQLmHfN0S8bfqKJd2blgZrMl6HdI=:",
                "X-Market-Signature": "v1,VXj91cUOrldOCVFI+14z1QdAx+vCNZp57UoN+t3ZjUI=",
            },
        ),
        "C": (
            "POST",
            DEACTIVATE_URL,
            DEACTIVATE_BODY,
            [S2, S1],
            {
                "Content-Digest": "sha-256=:/5dWBj4p6+aJP2uZKB+hmZADNrURQNCcFU8Ik+fIWcY=:",
                "Signature-Input": INPUT.format(label="market", keyid="mk_9ad17a0e8bb73abf")
                + ", "
                + INPUT.format(label="market-previous", keyid="mk_5036e1435aa9756c"),
                "Signature": "market=:VtTmQ9Zj0GnOfkoxIx1bUvCpIHvpghDrio9DCZ2EQ6c=:, "
                "market-previous=:WFGgaSLfhXyQcVF00T+iX1JWlA+SSv1+M6sg0VkoElE=:",
                "X-Market-Signature": "v1,SyRfsl6/S1GiXOvTNOasTmskPpEdgG9JQjcx202ka+8= "
                "v1,Uldix5g7Ea9cvxBQzQKVmvBJy4yDRI2ImcRuV4/ABKM=",
            },
        ),
    }


def _headers(vector) -> dict[str, str]:
    method, url, body, secrets, published = vector
    return {"X-Market-Request-Id": REQUEST_ID, "X-Market-Timestamp": str(CREATED), **published}


def test_the_kit_produces_exactly_the_published_headers(vectors):
    for name, (method, url, body, secrets, published) in vectors.items():
        produced = request_signature_headers(
            secrets=secrets,
            method=method,
            url=url,
            request_id=REQUEST_ID,
            timestamp=CREATED,
            body=body,
        )
        assert {k: produced[k] for k in published} == published, name


def test_every_published_value_is_in_the_signing_doc(vectors):
    text = SIGNING_DOC.read_text()
    for name, (*_rest, published) in vectors.items():
        for header, value in published.items():
            if header == "Content-Digest" or name != "C":
                assert f"{header}: {value}" in text, (name, header)
            else:
                assert value in text, (name, header)
    for secret in (S1, S2):
        assert f"`{secret}`" in text and f"key id `{key_id(secret)}`" in text
    assert LEGACY_SIGNATURE_END == "2027-06-30" and "2027-06-30" in text


def test_the_secrets_decode_to_the_documented_bytes():
    assert hmac_key(S1) == bytes(range(32)) and hmac_key(S2) == bytes(range(32, 64))
    # A pre-v1.1 secret (URL-safe alphabet, no padding) decodes as Node's Buffer would.
    legacy_style = "whsec_" + base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode().rstrip("=")
    assert hmac_key(legacy_style) == b"\xfb\xff" * 16
    assert hmac_key("dev-secret") == b"dev-secret"
    with pytest.raises(ValueError, match="base64"):
        hmac_key("whsec_***")


def test_a_new_secret_is_whsec_with_base64_of_32_bytes_as_standard_webhooks_reads_it():
    secret = new_secret()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    # standardwebhooks decodes a str secret itself: it must find the same 32-byte key.
    assert Webhook(secret)._whsecret == hmac_key(secret)
    assert len(hmac_key(secret)) == 32


# --- PyPI http-message-signatures, through the doc's own example ------------------------------


def _doc_python_example() -> dict:
    text = SIGNING_DOC.read_text()
    section = text.split("### Python (PyPI `http-message-signatures` 3.x)", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, str(SIGNING_DOC), "exec"), namespace)  # noqa: S102
    return namespace


def _message(vector, **changes):
    method, url, body, _secrets, _published = vector
    return SimpleNamespace(
        method=changes.get("method", method),
        url=changes.get("url", url),
        headers=CaseInsensitiveDict(_headers(vector)),
    )


@time_machine.travel(CREATED + 30, tick=False)
def test_the_doc_python_example_verifies_every_vector_with_each_secret(vectors):
    verify_market_request = _doc_python_example()["verify_market_request"]
    for name, vector in vectors.items():
        body, secrets = vector[2], vector[3]
        for secret in secrets:  # during the rotation either secret alone is enough
            verify_market_request(_message(vector), body, [secret])
        with pytest.raises(InvalidSignature):
            verify_market_request(_message(vector), body, ["whsec_" + "A" * 43 + "="])
        with pytest.raises(InvalidSignature):
            verify_market_request(_message(vector), body + b" ", secrets)
        with pytest.raises(InvalidSignature):
            verify_market_request(_message(vector, method="PUT"), body, secrets)
        other = vector[1].replace("hallym_univ", "snu")
        with pytest.raises(InvalidSignature):
            verify_market_request(_message(vector, url=other), body, secrets)
        del name


@pytest.mark.parametrize("offset", [-301, 301])
def test_the_doc_python_example_refuses_a_vector_outside_300_seconds(vectors, offset):
    verify_market_request = _doc_python_example()["verify_market_request"]
    with time_machine.travel(CREATED - offset, tick=False), pytest.raises(InvalidSignature):
        verify_market_request(_message(vectors["A"]), DEACTIVATE_BODY, [S1])
    with time_machine.travel(CREATED - offset + (5 if offset > 0 else -5), tick=False):
        verify_market_request(_message(vectors["A"]), DEACTIVATE_BODY, [S1])


def test_the_kit_verifier_accepts_the_vectors_and_reports_staleness(vectors):
    for vector in vectors.values():
        method, url, body, secrets, _published = vector
        target = url.removeprefix("https://vendor.example")
        for secret in secrets:
            verify_request(
                secrets=[secret],
                method=method,
                target=target,
                headers=_headers(vector),
                body=body,
                now=CREATED + 299,
            )
        with pytest.raises(SignatureError) as stale:
            verify_request(
                secrets=secrets,
                method=method,
                target=target,
                headers=_headers(vector),
                body=body,
                now=CREATED - 301,
            )
        assert stale.value.code == "stale_timestamp"


def test_standard_webhooks_verifies_the_legacy_header_of_every_vector(vectors):
    with time_machine.travel(CREATED, tick=False):
        for vector in vectors.values():
            body, secrets = vector[2], vector[3]
            headers = _headers(vector)
            for secret in secrets:
                Webhook(secret.encode()).verify(
                    body,
                    {
                        "webhook-id": headers["X-Market-Request-Id"],
                        "webhook-timestamp": headers["X-Market-Timestamp"],
                        "webhook-signature": headers["X-Market-Signature"],
                    },
                    json_parse=False,
                )


# --- npm http-message-signatures ------------------------------------------------------------


def _node_ready() -> str | None:
    """Why the Node check cannot run here, or None. Installs the locked package when missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm are not installed"
    if not (NODE_DIR / "node_modules" / "http-message-signatures").is_dir():
        done = subprocess.run(  # noqa: S603
            [npm, "ci", "--silent", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            return f"npm ci failed in {NODE_DIR}: {done.stderr[-500:]}"
    return None


def run_node_verifier(requests_: list[dict], *, secrets: list[str], now: int | None) -> list:
    reason = _node_ready()
    if reason is not None:
        print(f"SKIPPED the Node verification: {reason}")
        pytest.skip(reason)
    payload = {"secrets": secrets, "now": now, "requests": requests_}
    done = subprocess.run(  # noqa: S603
        [shutil.which("node"), str(NODE_VERIFIER)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _node_request(vector, **changes) -> dict:
    method, url, body, _secrets, _published = vector
    return {
        "method": changes.get("method", method),
        "url": changes.get("url", url),
        "headers": _headers(vector),
        "body_base64": base64.b64encode(changes.get("body", body)).decode(),
    }


def test_npm_http_message_signatures_verifies_every_vector(vectors):
    for vector in vectors.values():
        for secret in vector[3]:
            (result,) = run_node_verifier([_node_request(vector)], secrets=[secret], now=CREATED)
            assert result == {"ok": True, "keyid": key_id(secret)}


def test_npm_http_message_signatures_refuses_a_changed_or_stale_request(vectors):
    vector = vectors["B"]
    changed = [
        _node_request(vector, url=USAGE_URL.replace("hallym_univ", "snu")),
        _node_request(vector, url=USAGE_URL.replace("2026-01", "2026-02")),
        _node_request(vector, method="POST"),
        _node_request(vector, body=b"{}"),
    ]
    results = run_node_verifier(changed, secrets=[S1], now=CREATED)
    assert [r["ok"] for r in results] == [False] * 4, results
    (stale,) = run_node_verifier([_node_request(vector)], secrets=[S1], now=CREATED + 301)
    assert stale == {"ok": False, "error": "stale_timestamp"}
    (unknown,) = run_node_verifier([_node_request(vector)], secrets=[S2], now=CREATED)
    assert unknown["ok"] is False
