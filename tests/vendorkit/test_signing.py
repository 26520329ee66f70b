"""The request-signing scheme: published vectors, tolerance, rotation and tampering."""

from pathlib import Path

import pytest

from vendorkit.signing import SignatureError, sign, signature_header, verify

SIGNING_DOC = Path(__file__).resolve().parents[2] / "docs" / "standard" / "signing.md"

REQUEST_ID = "8f14e45f-ceea-4e7a-9d2c-1b0a3f5e6d7c"
TIMESTAMP = 1767441600  # 2026-01-03T12:00:00Z
SECRET = "test-signing-secret"
NEXT_SECRET = "next-signing-secret"
DEACTIVATE_BODY = (
    b'{"reason":"subscription_expired","preserve_data":true,"deactivate_at":"2026-01-03T12:00:00Z"}'
)
KOREAN_BODY = '{"tenant_id":"hallym_univ","tenant_name":"한림대학교"}'.encode()

VECTOR_1 = "v1,yHLDn/JklxqZDzzI02Et/TWJduOghJ59V2SoJsQ8iPY="
VECTOR_2 = "v1,2WI0jEVOeh/EEKtAPhtHRjtwBZdqyGb5QnqHP/Ia2IA="
VECTOR_3 = VECTOR_1 + " v1,XIVtgE6kQyOkVFo4sTu4yscih6IZLQEAUkPWedP8gGU="
VECTOR_4 = "v1,TNnV0gCqlp/5T/u21izLhfxvX2qXFXqRmmSc3McoyKc="


def _verify(**overrides):
    arguments = {
        "secrets": [SECRET],
        "request_id": REQUEST_ID,
        "timestamp_header": str(TIMESTAMP),
        "signature_header": VECTOR_1,
        "body": DEACTIVATE_BODY,
        "now": TIMESTAMP,
    }
    arguments.update(overrides)
    verify(**arguments)


def test_sign_matches_published_vector_for_a_post_body():
    result = sign(secret=SECRET, request_id=REQUEST_ID, timestamp=TIMESTAMP, body=DEACTIVATE_BODY)
    assert result == VECTOR_1


def test_sign_matches_published_vector_for_an_empty_get_body():
    assert sign(secret=SECRET, request_id=REQUEST_ID, timestamp=TIMESTAMP, body=b"") == VECTOR_2


def test_signature_header_with_two_secrets_matches_published_vector():
    header = signature_header(
        secrets=[SECRET, NEXT_SECRET],
        request_id=REQUEST_ID,
        timestamp=TIMESTAMP,
        body=DEACTIVATE_BODY,
    )
    assert header == VECTOR_3


def test_sign_signs_utf8_body_bytes():
    assert (
        sign(secret=SECRET, request_id=REQUEST_ID, timestamp=TIMESTAMP, body=KOREAN_BODY)
        == VECTOR_4
    )


def test_every_vector_is_published_in_the_signing_doc():
    doc = SIGNING_DOC.read_text(encoding="utf-8")
    for vector in (VECTOR_1, VECTOR_2, VECTOR_3, VECTOR_4):
        assert vector in doc
    assert DEACTIVATE_BODY.decode() in doc
    assert KOREAN_BODY.decode() in doc


def test_signature_header_refuses_an_empty_secret_list():
    with pytest.raises(ValueError):
        signature_header(secrets=[], request_id=REQUEST_ID, timestamp=TIMESTAMP, body=b"")


def test_verify_accepts_the_published_vector():
    _verify()  # raises on failure


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_verify_accepts_timestamps_within_tolerance(offset):
    _verify(now=TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [-301, 301, 86400])
def test_verify_rejects_timestamps_outside_tolerance_as_stale(offset):
    with pytest.raises(SignatureError) as error:
        _verify(now=TIMESTAMP + offset)
    assert error.value.code == "stale_timestamp"


def test_verify_honours_a_custom_tolerance():
    with pytest.raises(SignatureError) as error:
        _verify(now=TIMESTAMP + 61, tolerance=60)
    assert error.value.code == "stale_timestamp"


def test_verify_uses_the_real_clock_when_now_is_not_given():
    with pytest.raises(SignatureError) as error:
        _verify(now=None)  # the vector's timestamp is long past
    assert error.value.code == "stale_timestamp"


def test_verify_reports_a_wrong_secret_as_invalid_even_when_stale():
    with pytest.raises(SignatureError) as error:
        _verify(secrets=["another-secret"], now=TIMESTAMP + 10_000)
    assert error.value.code == "invalid_signature"


def test_verify_accepts_a_header_with_old_and_new_signature_when_receiver_knows_either():
    _verify(secrets=[SECRET], signature_header=VECTOR_3)
    _verify(secrets=[NEXT_SECRET], signature_header=VECTOR_3)


def test_verify_accepts_a_single_signature_when_receiver_holds_two_secrets():
    _verify(secrets=[NEXT_SECRET, SECRET], signature_header=VECTOR_1)


def test_verify_rejects_a_rotated_header_when_receiver_knows_neither_secret():
    with pytest.raises(SignatureError) as error:
        _verify(secrets=["retired-secret"], signature_header=VECTOR_3)
    assert error.value.code == "invalid_signature"


def test_verify_ignores_signatures_of_unknown_versions():
    _verify(signature_header="v2,AAAA " + VECTOR_1)
    with pytest.raises(SignatureError) as error:
        _verify(signature_header=VECTOR_1.replace("v1,", "v2,"))
    assert error.value.code == "invalid_signature"


@pytest.mark.parametrize(
    "field,value",
    [
        ("body", DEACTIVATE_BODY.replace(b"true", b"false")),
        ("body", DEACTIVATE_BODY + b" "),
        ("body", b""),
        ("request_id", "8f14e45f-ceea-4e7a-9d2c-1b0a3f5e6d7d"),
        ("timestamp_header", str(TIMESTAMP + 1)),
    ],
)
def test_verify_rejects_any_tampering_with_signed_content(field, value):
    with pytest.raises(SignatureError) as error:
        _verify(**{field: value, "now": TIMESTAMP + 1})
    assert error.value.code == "invalid_signature"


def test_verify_rejects_a_signature_with_one_flipped_character():
    tampered = VECTOR_1[:-3] + ("A" if VECTOR_1[-3] != "A" else "B") + VECTOR_1[-2:]
    with pytest.raises(SignatureError) as error:
        _verify(signature_header=tampered)
    assert error.value.code == "invalid_signature"


@pytest.mark.parametrize("header", ["", "   ", "yHLDn/JklxqZDzzI02Et", "v1,", "v1,not base64!!"])
def test_verify_rejects_missing_or_malformed_signature_headers(header):
    with pytest.raises(SignatureError) as error:
        _verify(signature_header=header)
    assert error.value.code == "invalid_signature"


@pytest.mark.parametrize("timestamp", ["", "abc", "1767441600.5", "-1767441600", "+1767441600"])
def test_verify_rejects_malformed_timestamps(timestamp):
    with pytest.raises(SignatureError) as error:
        _verify(timestamp_header=timestamp)
    assert error.value.code == "invalid_signature"


def test_verify_rejects_a_missing_request_id():
    with pytest.raises(SignatureError) as error:
        _verify(request_id="")
    assert error.value.code == "invalid_signature"


def test_signature_error_carries_a_human_message():
    with pytest.raises(SignatureError) as error:
        _verify(now=TIMESTAMP + 301)
    assert "300" in error.value.message
    assert str(error.value) == error.value.message
