"""Every page shows the one displayed state: a refused activation is "failed" everywhere."""

import pytest
from django.urls import reverse
from django.utils import translation

from tenants.models import Tenant
from tests.portal.conftest import tenant_of

pytestmark = pytest.mark.django_db

VENDOR_MESSAGE = "Plan basic is not sold on Jeju island"


@pytest.fixture
def failed_a(world):
    """School A's tenant after the vendor refused its activation (the world's op is FAILED)."""
    Tenant.objects.filter(pk=world.subscription_a.tenant_id).update(
        state=Tenant.State.NEEDS_ATTENTION, attention_reason=VENDOR_MESSAGE
    )
    return world.subscription_a


def badges(page: str) -> list[str]:
    import re

    return re.findall(r'data-testid="display-state" data-state="([a-z_]+)"', page)


@pytest.mark.parametrize(("language", "label"), [("ko", "실패"), ("en", "Failed")])
def test_school_pages_say_failed_and_never_active(world, failed_a, as_user, language, label):
    client = as_user(world.admin_a)
    client.cookies["django_language"] = language
    detail = client.get(reverse("school-subscription", args=[failed_a.pk])).content.decode()
    assert badges(detail) == ["failed", "failed"]  # header and state panel
    assert f'data-testid="facts-state">{label}<' in detail
    assert VENDOR_MESSAGE in detail
    assert reverse("school-subscription-retry", args=[failed_a.pk]) in detail
    for url in (reverse("school-subscriptions"), reverse("school-home")):
        page = client.get(url).content.decode()
        assert badges(page) == ["failed"], url


def test_the_vendors_tenant_pages_show_the_same_state(world, failed_a, as_user):
    client = as_user(world.vendor_user_a)
    service = world.service_a.service_id
    tenant = tenant_of(failed_a)
    for url in (
        reverse("vendor-tenants", args=[service]),
        reverse("vendor-tenant", args=[service, tenant.pk]),
    ):
        assert badges(client.get(url).content.decode()) == ["failed"], url


def test_an_active_subscription_shows_no_problem_and_no_retry(world, as_user):
    client = as_user(world.admin_a)
    detail = client.get(reverse("school-subscription", args=[world.subscription_a.pk]))
    page = detail.content.decode()
    assert badges(page) == ["active", "active"]
    assert 'data-testid="state-problem"' not in page
    assert reverse("school-subscription-retry", args=[world.subscription_a.pk]) not in page


def test_the_school_retry_of_an_active_service_says_why_and_changes_nothing(world, as_user):
    client = as_user(world.admin_a)
    client.cookies["django_language"] = "ko"
    response = client.post(
        reverse("school-subscription-retry", args=[world.subscription_a.pk]), follow=True
    )
    with translation.override("ko"):
        assert "다시 시도할 수 있는 것은 실패한 활성화뿐입니다. 현재 상태: 활성." in (
            response.content.decode()
        )
    assert tenant_of(world.subscription_a).state == Tenant.State.ACTIVE


def test_the_school_retries_a_failed_activation_from_its_page(world, failed_a, as_user):
    client = as_user(world.admin_a)
    response = client.post(reverse("school-subscription-retry", args=[failed_a.pk]))
    assert response.status_code == 302
    assert tenant_of(failed_a).state == Tenant.State.ACTIVATING


def test_another_school_cannot_retry(world, failed_a, as_user):
    client = as_user(world.admin_b)
    response = client.post(reverse("school-subscription-retry", args=[failed_a.pk]))
    assert response.status_code == 404
    assert tenant_of(failed_a).state == Tenant.State.NEEDS_ATTENTION
