"""Two schools and two vendors: nobody sees another's data, a foreign id is 404, a wrong role 403.

Every portal page is listed here once; a new page that is not added to these tables fails
`test_every_portal_url_is_covered`.
"""

import pytest
from django.urls import get_resolver, reverse

pytestmark = pytest.mark.django_db

# Strings only school B's (or vendor B's) data contains.
SCHOOL_B_MARKERS = (
    "Beta School",
    "beta_school",
    "it@beta.example",
    "event-of-beta",
    "beta.example/app",
)
VENDOR_B_MARKERS = (
    "Beta School",
    "beta_bot",
    "secret-error-of-beta",
    "body-of-beta",
    "incident-of-beta",
    "check-of-beta",
    "event-of-beta",
)


def school_pages(w):
    """(name, url) of every GET page of school A, built from school A's own ids."""
    sub = w.subscription_a.pk
    return [
        ("school-home", reverse("school-home")),
        ("school-catalog", reverse("school-catalog")),
        ("school-service", reverse("school-service", args=[w.service_a.service_id])),
        ("school-subscribe", reverse("school-subscribe", args=[w.service_b.service_id])),
        ("school-subscriptions", reverse("school-subscriptions")),
        ("school-subscription", reverse("school-subscription", args=[sub])),
        ("school-subscription-state", reverse("school-subscription-state", args=[sub])),
        ("school-subscription-cancel", reverse("school-subscription-cancel", args=[sub])),
        ("school-team", reverse("school-team")),
    ]


def school_object_urls(subscription_pk):
    """Every school URL that names a subscription: (method, name, url)."""
    return [
        ("get", "school-subscription", reverse("school-subscription", args=[subscription_pk])),
        ("get", "school-subscription-state", reverse("school-subscription-state", args=[subscription_pk])),
        ("get", "school-subscription-launch", reverse("school-subscription-launch", args=[subscription_pk])),
        ("post", "school-subscription-credentials", reverse("school-subscription-credentials", args=[subscription_pk])),
        ("post", "school-subscription-renew", reverse("school-subscription-renew", args=[subscription_pk])),
        ("post", "school-subscription-plan", reverse("school-subscription-plan", args=[subscription_pk])),
        ("post", "school-subscription-retry", reverse("school-subscription-retry", args=[subscription_pk])),
        ("get", "school-subscription-cancel", reverse("school-subscription-cancel", args=[subscription_pk])),
        ("post", "school-subscription-cancel", reverse("school-subscription-cancel", args=[subscription_pk])),
    ]  # fmt: skip


def vendor_pages(w):
    service = w.service_a.service_id
    tenant = w.subscription_a.tenant_id
    run = w.service_a.conformance_runs.get().pk
    return [
        ("vendor-home", reverse("vendor-home")),
        ("vendor-service-new", reverse("vendor-service-new")),
        ("vendor-submissions", reverse("vendor-submissions")),
        ("vendor-service", reverse("vendor-service", args=[service])),
        ("vendor-manifest-submit", reverse("vendor-manifest-submit", args=[service])),
        ("vendor-manifest", reverse("vendor-manifest", args=[service, 1])),
        ("vendor-credentials-rotate", reverse("vendor-credentials-rotate", args=[service])),
        ("vendor-tenants", reverse("vendor-tenants", args=[service])),
        ("vendor-tenant", reverse("vendor-tenant", args=[service, tenant])),
        ("vendor-conformance", reverse("vendor-conformance", args=[service, run])),
    ]


def vendor_object_urls(w):
    """Every vendor URL that names vendor B's objects: (method, name, url)."""
    service = w.service_b.service_id
    tenant = w.subscription_b.tenant_id
    run = w.service_b.conformance_runs.get().pk
    return [
        ("get", "vendor-service", reverse("vendor-service", args=[service])),
        ("get", "vendor-manifest-submit", reverse("vendor-manifest-submit", args=[service])),
        ("post", "vendor-manifest-submit", reverse("vendor-manifest-submit", args=[service])),
        ("get", "vendor-manifest", reverse("vendor-manifest", args=[service, 1])),
        ("get", "vendor-credentials-rotate", reverse("vendor-credentials-rotate", args=[service])),
        ("post", "vendor-credentials-rotate", reverse("vendor-credentials-rotate", args=[service])),
        ("get", "vendor-tenants", reverse("vendor-tenants", args=[service])),
        ("get", "vendor-tenant", reverse("vendor-tenant", args=[service, tenant])),
        ("post", "vendor-conformance-start", reverse("vendor-conformance-start", args=[service])),
        ("get", "vendor-conformance", reverse("vendor-conformance", args=[service, run])),
    ]


PUBLIC = {"vendor-signup"}


def portal_url_names() -> set[str]:
    names = set()
    for module in ("portal.school_urls", "portal.vendor_urls"):
        resolver = get_resolver(module)
        names |= {name for name in resolver.reverse_dict if isinstance(name, str)}
    return names | {"school-home", "vendor-home"}


def test_every_portal_url_is_covered(world):
    covered = {name for name, _url in school_pages(world) + vendor_pages(world)}
    covered |= {name for _m, name, _url in school_object_urls(1) + vendor_object_urls(world)}
    assert portal_url_names() - covered - PUBLIC == set()


def test_school_pages_show_nothing_of_the_other_school(world, as_user):
    client = as_user(world.admin_a)
    for name, url in school_pages(world):
        response = client.get(url)
        assert response.status_code == 200, name
        page = response.content.decode()
        for marker in SCHOOL_B_MARKERS:
            assert marker not in page, f"{name} shows {marker!r} of school B"


def test_school_pages_show_the_schools_own_data(world, as_user):
    client = as_user(world.admin_a)
    detail = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    page = detail.content.decode()
    assert "Alpha Tutor" in page
    assert "event-of-alpha" in page
    assert "alpha.example/app/alpha_school" in page
    assert "Alpha Tutor" in client.get(reverse("school-subscriptions")).content.decode()
    assert "Alpha School" in client.get(reverse("school-home")).content.decode()


def test_school_admin_gets_404_for_the_other_schools_subscription(world, as_user):
    client = as_user(world.admin_a)
    for method, name, url in school_object_urls(world.subscription_b.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method} {name} answered {response.status_code}"
    world.subscription_b.refresh_from_db()
    assert world.subscription_b.is_live


def test_school_team_lists_only_the_schools_admins(world, as_user):
    page = as_user(world.admin_a).get(reverse("school-team")).content.decode()
    assert "admin_a" in page
    assert "admin_b" not in page


def test_vendor_pages_show_nothing_of_the_other_vendor(world, as_user):
    client = as_user(world.vendor_user_a)
    for name, url in vendor_pages(world):
        response = client.get(url)
        assert response.status_code == 200, name
        page = response.content.decode()
        for marker in VENDOR_B_MARKERS:
            assert marker not in page, f"{name} shows {marker!r} of vendor B"


def test_vendor_sees_its_own_tenants_and_their_exact_errors(world, as_user):
    client = as_user(world.vendor_user_a)
    page = client.get(reverse("vendor-tenants", args=["alpha_tutor"])).content.decode()
    assert "Alpha School" in page
    assert "secret-error-of-alpha" in page
    assert "body-of-alpha" in page
    assert "HTTP 422" in page
    detail = client.get(reverse("vendor-service", args=["alpha_tutor"])).content.decode()
    assert "incident-of-alpha" in detail


def test_vendor_gets_404_for_the_other_vendors_objects(world, as_user):
    client = as_user(world.vendor_user_a)
    before = world.service_b.credentials.count()
    for method, name, url in vendor_object_urls(world):
        response = getattr(client, method)(url)
        assert response.status_code == 404, f"{method} {name} answered {response.status_code}"
    assert world.service_b.credentials.count() == before
    assert world.service_b.manifests.count() == 1


def test_vendor_gets_404_for_a_tenant_of_another_service_under_its_own_service(world, as_user):
    client = as_user(world.vendor_user_a)
    url = reverse("vendor-tenant", args=["alpha_tutor", world.subscription_b.tenant_id])
    assert client.get(url).status_code == 404
    run_b = world.service_b.conformance_runs.get().pk
    assert client.get(reverse("vendor-conformance", args=["alpha_tutor", run_b])).status_code == 404


def test_school_admin_is_refused_every_vendor_page(world, as_user):
    client = as_user(world.admin_a)
    for name, url in vendor_pages(world):
        assert client.get(url).status_code == 403, name


def test_vendor_user_is_refused_every_school_page(world, as_user):
    client = as_user(world.vendor_user_a)
    for name, url in school_pages(world):
        assert client.get(url).status_code == 403, name
    for method, name, url in school_object_urls(world.subscription_a.pk):
        assert getattr(client, method)(url).status_code == 403, f"{method} {name}"


def test_anonymous_visitors_are_sent_to_log_in(world, client):
    for name, url in school_pages(world) + vendor_pages(world):
        response = client.get(url)
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("login")), name


def test_staff_overview_is_for_staff_only(world, as_user):
    from tests.factories import StaffFactory

    assert as_user(world.admin_a).get(reverse("staff-overview")).status_code == 302
    response = as_user(StaffFactory()).get(reverse("staff-overview"))
    assert response.status_code == 200
    assert "incident-of-alpha" in response.content.decode()
