"""The displayed state in the API, the school's retry, and the temporary password read once."""

import pytest
from django.utils import translation

from tenants.credentials import tenant_reveal_credentials
from tenants.errors import LifecycleError
from tenants.models import LifecycleEvent, Operation, Tenant
from tests.api.support import API, problem_of

pytestmark = pytest.mark.django_db

VENDOR_MESSAGE = "Plan basic is not sold on Jeju island"


def fail_activation(side):
    """School A's tenant as the executor leaves it after a refused activation."""
    tenant = side.objects["tenant"]
    tenant.state = Tenant.State.NEEDS_ATTENTION
    tenant.attention_reason = VENDOR_MESSAGE
    tenant.save()
    return tenant


def test_a_failed_activation_is_failed_in_the_api_with_a_localized_label(world):
    fail_activation(world.school_a)
    subscription = world.school_a.objects["subscription"]
    for language, label, explanation in (
        ("ko", "실패", "활성화에 실패했습니다."),
        ("en", "Failed", "Activation failed."),
    ):
        body = world.school_a.api.get(
            f"{API}/subscriptions/{subscription.pk}", headers={"Accept-Language": language}
        ).json()
        assert body["status"] == "active"  # the contract; the display tells the truth
        assert body["display_state"] == "failed"
        assert body["display"]["label"] == label
        assert body["display"]["explanation"] == explanation
        assert body["display"]["detail"] == VENDOR_MESSAGE
        assert body["display"]["can_retry"] is True
    tenant = world.school_a.api.get(f"{API}/tenants/{subscription.tenant_id}").json()
    assert tenant["display_state"] == "failed"


def test_an_active_subscription_is_active_in_lists_and_details(world):
    tenant = world.school_a.objects["tenant"]
    tenant.state = Tenant.State.ACTIVE
    tenant.save()
    Operation.objects.filter(tenant=tenant).update(state=Operation.State.SUCCEEDED)
    listed = world.school_a.api.get(f"{API}/subscriptions").json()["results"]
    assert [row["display_state"] for row in listed] == ["active"]
    assert listed[0]["display"]["can_retry"] is False
    tenants = world.school_a.api.get(f"{API}/tenants").json()["results"]
    assert [row["display_state"] for row in tenants] == ["active"]


def test_the_school_retries_a_failed_activation_through_the_api(world):
    fail_activation(world.school_a)
    subscription = world.school_a.objects["subscription"]
    response = world.school_a.api.post(f"{API}/subscriptions/{subscription.pk}/retry", {})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["operation"]["state"] == "queued"
    assert body["subscription"]["display_state"] == "activating"


def test_a_retry_of_a_tenant_that_is_not_failed_is_a_409_and_changes_nothing(world):
    subscription = world.school_a.objects["subscription"]
    tenant = subscription.tenant
    tenant.state = Tenant.State.ACTIVE
    tenant.save()
    events = LifecycleEvent.objects.count()
    response = world.school_a.api.post(
        f"{API}/subscriptions/{subscription.pk}/retry", {}, headers={"Accept-Language": "ko"}
    )
    assert response.status_code == 409
    assert problem_of(response)["detail"] == (
        "다시 시도할 수 있는 것은 실패한 활성화뿐입니다. 현재 상태: 활성."
    )
    assert Tenant.objects.get(pk=tenant.pk).state == Tenant.State.ACTIVE
    assert Operation.objects.get(pk=world.school_a.objects["operation"].pk).state == "failed"
    assert LifecycleEvent.objects.count() == events


def test_another_schools_subscription_cannot_be_retried(world):
    fail_activation(world.school_a)
    subscription = world.school_a.objects["subscription"]
    assert (
        world.school_b.api.post(f"{API}/subscriptions/{subscription.pk}/retry", {}).status_code
        == 404
    )


def test_the_temporary_password_is_read_exactly_once_then_erased(world):
    tenant = world.school_a.objects["tenant"]
    tenant.temp_password = "Tmp-Secret-4711"
    tenant.save()
    subscription = world.school_a.objects["subscription"]
    url = f"{API}/subscriptions/{subscription.pk}/temporary-password"
    first = world.school_a.api.post(url, {})
    assert first.status_code == 200, first.content
    assert first.json()["temp_password"] == "Tmp-Secret-4711"
    assert first["Cache-Control"] == "no-store"
    tenant.refresh_from_db()
    assert tenant.temp_password == "" and tenant.credentials_revealed_at is not None
    second = world.school_a.api.post(url, {})
    assert second.status_code == 409
    assert "Tmp-Secret-4711" not in second.content.decode()
    assert LifecycleEvent.objects.filter(tenant=tenant, kind="credentials_revealed").count() == 1
    # The portal's "show once" shares the erasure: it finds nothing left either.
    with translation.override("en"), pytest.raises(LifecycleError, match="already shown"):
        tenant_reveal_credentials(tenant=tenant, user=world.school_a.user)


@pytest.mark.parametrize("side", ["staff", "vendor_a"])
def test_only_the_school_may_read_its_temporary_password(world, side):
    tenant = world.school_a.objects["tenant"]
    tenant.temp_password = "Tmp-Secret-4711"
    tenant.save()
    subscription = world.school_a.objects["subscription"]
    response = world.side(side).api.post(
        f"{API}/subscriptions/{subscription.pk}/temporary-password", {}
    )
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.temp_password == "Tmp-Secret-4711"  # nothing erased


def test_another_school_cannot_read_the_temporary_password(world):
    tenant = world.school_a.objects["tenant"]
    tenant.temp_password = "Tmp-Secret-4711"
    tenant.save()
    subscription = world.school_a.objects["subscription"]
    response = world.school_b.api.post(
        f"{API}/subscriptions/{subscription.pk}/temporary-password", {}
    )
    assert response.status_code == 404
    tenant.refresh_from_db()
    assert tenant.temp_password == "Tmp-Secret-4711"


def test_no_temporary_password_is_a_clear_problem(world):
    subscription = world.school_a.objects["subscription"]
    response = world.school_a.api.post(
        f"{API}/subscriptions/{subscription.pk}/temporary-password", {}
    )
    assert response.status_code == 422
    assert "no temporary password" in problem_of(response)["detail"]
