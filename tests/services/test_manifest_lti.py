"""The manifest's optional `lti` section: its shape, precise errors, and the address guard."""

import copy

import pytest

from services.models import Service
from services.services import RegistrationError, service_register
from tests.factories import VendorFactory
from tests.services.test_manifest_validation import SEED_DATA, error_at, validate
from tests.support.vendors import manifest_text

LTI = {
    "login_initiation_url": "https://keli.k-university.ai/lti/login",
    "target_link_uri": "https://keli.k-university.ai/lti/launch",
    "redirect_uris": ["https://keli.k-university.ai/lti/launch"],
    "jwks_url": "https://keli.k-university.ai/lti/jwks",
    "custom": {"course_mode": "school"},
}


def with_lti(**changes) -> dict:
    data = copy.deepcopy(SEED_DATA)
    data["lti"] = {**LTI, **changes}
    return data


def test_a_complete_lti_section_is_valid():
    assert validate(with_lti()).is_valid


def test_only_the_login_url_and_target_link_are_required():
    data = copy.deepcopy(SEED_DATA)
    data["lti"] = {k: LTI[k] for k in ("login_initiation_url", "target_link_uri")}
    assert validate(data).is_valid


def test_a_missing_login_initiation_url_says_what_to_add():
    data = with_lti()
    del data["lti"]["login_initiation_url"]
    error = error_at(validate(data), "/lti/login_initiation_url")
    assert "OIDC login initiation URL" in error.message
    assert "로그인 시작 URL" in error.message_ko


@pytest.mark.parametrize(
    ("field", "value", "pointer", "english", "korean"),
    [
        ("target_link_uri", "http://keli.k-university.ai/launch", "/lti/target_link_uri",
         "must use https", "https를 써야"),
        ("login_initiation_url", "https://keli.k-university.ai/l#x", "/lti/login_initiation_url",
         "fragment", "프래그먼트"),
        ("login_initiation_url", "ftp://keli", "/lti/login_initiation_url",
         "OIDC login initiation URL", "로그인 시작 URL"),
        ("redirect_uris", [], "/lti/redirect_uris", "at least 1", "최소 1개"),
        ("redirect_uris", ["http://keli.k-university.ai/x"], "/lti/redirect_uris/0",
         "must use https", "https를 써야"),
        ("custom", {"Bad": "x"}, "/lti/custom/Bad", "custom parameter name", "매개변수 이름"),
        ("custom", {"mode": 3}, "/lti/custom/mode", "must be text", "문자열"),
        ("jwks", "https://x", "/lti/jwks", "not a field of `/lti`", "정의된 항목이 아닙니다"),
    ],
)  # fmt: skip
def test_each_lti_mistake_is_reported_at_its_field_in_both_languages(
    field, value, pointer, english, korean
):
    error = error_at(validate(with_lti(**{field: value})), pointer)
    assert english in error.message
    assert korean in error.message_ko
    assert error.line is not None


def test_plain_http_is_accepted_for_allowed_development_hosts():
    data = with_lti(
        login_initiation_url="http://127.0.0.1:9001/lti/login",
        target_link_uri="http://127.0.0.1:9001/lti/launch",
        redirect_uris=["http://127.0.0.1:9001/lti/launch"],
        jwks_url="http://127.0.0.1:9001/lti/jwks",
    )
    assert validate(data, hosts=["127.0.0.1"]).is_valid
    assert not validate(data).is_valid


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254"])
def test_lti_urls_on_private_addresses_are_refused_at_registration(
    reference_vendor, settings, address
):
    settings.VENDOR_ALLOWED_PRIVATE_HOSTS = [reference_vendor.base_url.removeprefix("http://")]
    text = manifest_text(base_url=reference_vendor.base_url)
    text += (
        "lti:\n"
        f'  login_initiation_url: "https://{address}/lti/login"\n'
        f'  target_link_uri: "{reference_vendor.base_url}/lti/launch"\n'
    )
    with pytest.raises(RegistrationError) as refused:
        service_register(vendor=VendorFactory(), raw_text=text)
    assert address in refused.value.message
    assert Service.objects.count() == 0
