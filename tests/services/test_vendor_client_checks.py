"""Deploy checks: development allowlists and a generated JWT key must not reach production."""

from services.vendor_client.checks import (
    check_jwt_key_configured,
    check_vendor_allowlists_empty_in_production,
)


def test_allowlists_are_fine_in_development(settings):
    settings.DEBUG = True
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]
    settings.VENDOR_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]

    assert check_vendor_allowlists_empty_in_production() == []


def test_private_host_allowlist_is_an_error_in_production(settings):
    settings.DEBUG = False
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1:*"]
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []

    [error] = check_vendor_allowlists_empty_in_production()

    assert error.id == "vendor_client.E001"
    assert "VENDOR_ALLOWED_PRIVATE_HOSTS" in error.msg
    assert "127.0.0.1:*" in error.msg
    assert error.is_serious()


def test_both_allowlists_are_reported_in_production(settings):
    settings.DEBUG = False
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = ["10.0.0.5:8000"]
    settings.VENDOR_HTTP_ALLOWED_HOSTS = ["vendor.internal"]

    errors = check_vendor_allowlists_empty_in_production()

    assert [e.id for e in errors] == ["vendor_client.E001", "vendor_client.E002"]


def test_empty_allowlists_pass_in_production(settings):
    settings.DEBUG = False
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = []
    settings.VENDOR_HTTP_ALLOWED_HOSTS = []

    assert check_vendor_allowlists_empty_in_production() == []


def test_missing_jwt_key_variable_is_a_warning_in_production(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("MARKET_JWT_PRIVATE_KEY", raising=False)

    [warning] = check_jwt_key_configured()

    assert warning.id == "vendor_client.W001"


def test_jwt_key_variable_satisfies_the_check(settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("MARKET_JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----...")

    assert check_jwt_key_configured() == []
