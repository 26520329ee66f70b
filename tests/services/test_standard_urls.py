"""The one builder of the standard's URLs (``services.vendor_client.urls``)."""

import pytest

from services.vendor_client.client import VendorClient, VendorTarget
from services.vendor_client.urls import endpoint_url, standard_url


@pytest.mark.parametrize(
    ("base", "path"),
    [
        ("https://v.example/api", "/mt/health"),
        ("https://v.example/api/", "/mt/health"),
        ("https://v.example/api/", "mt/health"),
        ("https://v.example/api", "mt/health"),
    ],
)
def test_base_and_path_are_joined_with_exactly_one_slash(base, path):
    assert endpoint_url(base, path) == "https://v.example/api/mt/health"


def test_the_tenant_id_is_expanded_and_quoted_as_one_path_segment():
    url = standard_url("https://v.example/", "/mt/tenant/{tenant_id}/status", tenant_id="a/b c?")
    assert url == "https://v.example/mt/tenant/a%2Fb%20c%3F/status"


def test_a_query_is_added_after_an_existing_one():
    assert (
        standard_url("https://v.example", "app/{tenant_id}?x=1", tenant_id="t", query={"k": "v w"})
        == "https://v.example/app/t?x=1&k=v+w"
    )
    assert (
        standard_url("https://v.example", "/app", query={"k": "v"}) == "https://v.example/app?k=v"
    )


def test_a_tenant_template_without_a_tenant_id_is_an_error():
    with pytest.raises(ValueError, match="needs a tenant_id"):
        standard_url("https://v.example", "/mt/tenant/{tenant_id}/status")


def test_the_vendor_client_builds_its_urls_with_the_builder():
    target = VendorTarget(
        service_id="s",
        base_url="https://v.example/base/",
        endpoints={"tenant_status": "mt/tenant/{tenant_id}/status"},
    )
    assert VendorClient(target).url_for("tenant_status", tenant_id="x y") == standard_url(
        "https://v.example/base/", "mt/tenant/{tenant_id}/status", tenant_id="x y"
    )
