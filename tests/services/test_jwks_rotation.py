"""JWKS key rotation, checked with an independent JOSE library (jwcrypto, not PyJWT).

Before a rotation the JWKS publishes the next key beside the current one, so a vendor that
cached it then still verifies the first tokens signed with the new key; after the rotation
the previous key stays published, so tokens signed just before the switch keep verifying.
"""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured
from jwcrypto import jwk, jws, jwt

from services.vendor_client import jwt_keys


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def keys():
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture(autouse=True)
def _clean(settings, monkeypatch, tmp_path):
    settings.MARKET_BASE_URL = "https://market.example"
    settings.VAR_DIR = tmp_path
    for name in (jwt_keys.ENV_VAR, jwt_keys.NEXT_ENV_VAR, jwt_keys.PREVIOUS_ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    jwt_keys.market_private_key.cache_clear()
    yield
    jwt_keys.market_private_key.cache_clear()


def _configure(monkeypatch, *, current, next_key=None, previous=None):
    monkeypatch.setenv(jwt_keys.ENV_VAR, _pem(current))
    for name, value in ((jwt_keys.NEXT_ENV_VAR, next_key), (jwt_keys.PREVIOUS_ENV_VAR, previous)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    jwt_keys.market_private_key.cache_clear()


def _jwks_as_a_vendor_sees_it() -> jwk.JWKSet:
    return jwk.JWKSet.from_json(json.dumps(jwt_keys.public_jwks()))


def _claims(token: str, jwks: jwk.JWKSet) -> dict:
    verified = jwt.JWT(
        jwt=token,
        key=jwks,
        algs=["RS256"],
        expected_type="JWS",
        check_claims={"aud": "keli_tutor", "iss": "https://market.example"},
    )
    return json.loads(verified.claims)


def test_without_a_rotation_the_jwks_has_one_key(monkeypatch, keys):
    _configure(monkeypatch, current=keys[0])
    published = _jwks_as_a_vendor_sees_it()
    assert [k.get("kid") for k in published["keys"]] == [jwt_keys.key_id()]


def test_the_next_key_is_published_before_it_signs(monkeypatch, keys):
    _configure(monkeypatch, current=keys[0], next_key=_pem(keys[1]))
    cached = _jwks_as_a_vendor_sees_it()  # a vendor fetches and caches the JWKS now
    old_kid = jwt_keys.key_id()
    before = jwt_keys.issue_service_token("keli_tutor")

    assert len(cached["keys"]) == 2
    assert _claims(before, cached)["aud"] == "keli_tutor"

    # The rotation: the next key signs, the old one stays published as the previous key.
    _configure(monkeypatch, current=keys[1], previous=_public_pem(keys[0]))
    after = jwt_keys.issue_service_token("keli_tutor")
    assert jwt_keys.key_id() != old_kid
    header = jws.JWS()
    header.deserialize(after)
    assert header.jose_header["kid"] == jwt_keys.key_id()
    # The vendor's cached JWKS (fetched before the switch) already holds the new key...
    assert _claims(after, cached)["token_use"] == "service"
    # ...and the new JWKS still verifies a token signed just before the switch.
    fresh = _jwks_as_a_vendor_sees_it()
    assert {k.get("kid") for k in fresh["keys"]} == {k.get("kid") for k in cached["keys"]}
    assert _claims(before, fresh)["token_use"] == "service"
    assert _claims(after, fresh)["token_use"] == "service"


def test_a_key_that_left_the_jwks_no_longer_verifies(monkeypatch, keys):
    _configure(monkeypatch, current=keys[0])
    old_token = jwt_keys.issue_service_token("keli_tutor")
    _configure(monkeypatch, current=keys[1])
    with pytest.raises(Exception, match="(?i)key|signature"):
        _claims(old_token, _jwks_as_a_vendor_sees_it())


def test_the_signing_key_comes_first_and_is_listed_once(monkeypatch, keys):
    _configure(monkeypatch, current=keys[0], next_key=_pem(keys[0]), previous=_pem(keys[1]))
    kids = [k["kid"] for k in jwt_keys.public_jwks()["keys"]]
    assert kids[0] == jwt_keys.key_id()
    assert len(kids) == len(set(kids)) == 2


def test_an_extra_key_from_a_file_path(monkeypatch, keys, tmp_path):
    path = tmp_path / "next.pem"
    path.write_text(_public_pem(keys[1]))
    _configure(monkeypatch, current=keys[0], next_key=str(path))
    assert len(jwt_keys.public_jwks()["keys"]) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/key.pem", "cannot be read"),
        ("-----BEGIN PUBLIC KEY-----\\nnot a key\\n-----END PUBLIC KEY-----", "PEM"),
        ("ec", "RSA"),
    ],
)
def test_a_bad_extra_key_is_a_configuration_error_naming_the_variable(
    monkeypatch, keys, value, message
):
    if value == "ec":
        value = _pem(ec.generate_private_key(ec.SECP256R1()))
    _configure(monkeypatch, current=keys[0], next_key=value)
    with pytest.raises(ImproperlyConfigured, match=message) as error:
        jwt_keys.public_jwks()
    assert jwt_keys.NEXT_ENV_VAR in str(error.value)
