"""The market's JWT key, its JWKS, and the service and launch tokens."""

import os
import stat

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

from services.vendor_client import jwt_keys


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def _fresh_key_cache(settings, monkeypatch, tmp_path):
    settings.MARKET_BASE_URL = "https://market.example/"
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv(jwt_keys.ENV_VAR, raising=False)
    jwt_keys.market_private_key.cache_clear()
    yield
    jwt_keys.market_private_key.cache_clear()


def _verify(token, *, audience):
    jwk = jwt_keys.public_jwks()["keys"][0]
    return jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=audience,
        issuer="https://market.example",
    )


def test_key_from_the_environment_is_used(monkeypatch, rsa_key):
    monkeypatch.setenv(jwt_keys.ENV_VAR, _pem(rsa_key).replace("\n", "\\n"))

    key = jwt_keys.market_private_key()

    assert key.public_key().public_numbers() == rsa_key.public_key().public_numbers()


def test_key_from_a_file_named_in_the_environment(monkeypatch, rsa_key, tmp_path):
    path = tmp_path / "market.pem"
    path.write_text(_pem(rsa_key))
    monkeypatch.setenv(jwt_keys.ENV_VAR, str(path))

    assert jwt_keys.market_private_key().key_size == 2048


def test_a_non_rsa_key_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv(jwt_keys.ENV_VAR, _pem(ec.generate_private_key(ec.SECP256R1())))

    with pytest.raises(ImproperlyConfigured, match="RSA"):
        jwt_keys.market_private_key()


def test_without_the_variable_a_key_is_generated_once_and_kept_private(tmp_path):
    first = jwt_keys.market_private_key()
    jwt_keys.market_private_key.cache_clear()
    second = jwt_keys.market_private_key()

    path = tmp_path / "jwt-private.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first.public_key().public_numbers() == second.public_key().public_numbers()


def test_jwks_publishes_the_public_key_only(monkeypatch, rsa_key):
    monkeypatch.setenv(jwt_keys.ENV_VAR, _pem(rsa_key))

    jwks = jwt_keys.public_jwks()

    [jwk] = jwks["keys"]
    assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    assert jwk["alg"] == "RS256"
    assert jwk["use"] == "sig"
    assert jwk["kid"] == jwt_keys.key_id()
    public = jwt.PyJWK(jwk).key
    assert public.public_numbers() == rsa_key.public_key().public_numbers()


def test_service_token_is_for_one_service_and_lives_at_most_five_minutes():
    token = jwt_keys.issue_service_token("keli_tutor")

    claims = _verify(token, audience="keli_tutor")
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["token_use"] == "service"
    with pytest.raises(jwt.InvalidAudienceError):
        _verify(token, audience="llm_chatbot")


def test_launch_token_names_user_tenant_and_role_with_a_fresh_nonce():
    kwargs = {
        "service_id": "keli_tutor",
        "tenant_id": "hallym_univ",
        "user_id": 7,
        "role": "teacher",
    }
    first = _verify(jwt_keys.issue_launch_token(**kwargs), audience="keli_tutor")
    second = _verify(jwt_keys.issue_launch_token(**kwargs), audience="keli_tutor")

    assert first["sub"] == "7"
    assert first["tenant_id"] == "hallym_univ"
    assert first["role"] == "teacher"
    assert first["token_use"] == "launch"
    assert first["nonce"] == first["jti"]
    assert first["nonce"] != second["nonce"]
    assert first["exp"] - first["iat"] == 300


@pytest.mark.parametrize("ttl", [0, -1, 301, 3600])
def test_launch_token_lifetime_is_bounded(ttl):
    with pytest.raises(ValueError):
        jwt_keys.issue_launch_token(
            service_id="s", tenant_id="t", user_id=1, role="student", ttl=ttl
        )


def test_short_launch_token_lifetime_is_honoured():
    claims = _verify(
        jwt_keys.issue_launch_token(service_id="s", tenant_id="t", user_id=1, role="r", ttl=60),
        audience="s",
    )
    assert claims["exp"] - claims["iat"] == 60
