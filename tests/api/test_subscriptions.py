"""Subscription commands, tenants, operations and lifecycle events through the API."""

import datetime

import pytest
from django.utils import timezone

from tenants.events import record_event
from tenants.models import Operation, Subscription, Tenant
from tests.api.support import API, next_year, problem_of

pytestmark = pytest.mark.django_db


def body_for(service="beta_chat", plan="premium", **extra) -> dict:
    return {
        "service": service,
        "plan": plan,
        "ends_on": next_year(),
        "admin_email": "it@school.example",
        "admin_name": "Kim",
        **extra,
    }


def test_one_idempotency_key_creates_one_subscription_and_one_activation(world):
    api = world.school_a.api
    headers = {"Idempotency-Key": "6f1c2c4e-2f7d-4f0e-9d1a-1d3c1b7e9a10"}
    answers = [api.post(f"{API}/subscriptions", body_for(), headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.json()["subscription"]["id"] for a in answers}) == 1
    assert len({a.json()["operation"]["id"] for a in answers}) == 1
    assert "Idempotent-Replayed" not in answers[0]
    assert answers[1]["Idempotent-Replayed"] == "true"
    subscriptions = Subscription.objects.filter(
        organization__slug="school_a", service__service_id="beta_chat"
    )
    assert subscriptions.count() == 1
    assert Operation.objects.filter(subscription__in=subscriptions).count() == 1


def test_reusing_an_idempotency_key_for_another_request_is_refused(world):
    api = world.school_a.api
    headers = {"Idempotency-Key": "key-1"}
    assert api.post(f"{API}/subscriptions", body_for(), headers=headers).status_code == 202
    response = api.post(f"{API}/subscriptions", body_for(plan="basic"), headers=headers)
    assert response.status_code == 422
    assert problem_of(response)["type"].endswith("/idempotency-conflict")


@pytest.mark.parametrize("key", ["x" * 256, "has space", "ключ"])
def test_a_malformed_idempotency_key_is_a_400(world, key):
    response = world.school_a.api.client.post(
        f"{API}/subscriptions",
        body_for(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.school_a.token}",
        HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"),
    )
    assert response.status_code == 400
    assert problem_of(response)["errors"][0]["field"] == "Idempotency-Key"
    assert not Subscription.objects.filter(service__service_id="beta_chat",
                                           organization__slug="school_a").exists()  # fmt: skip


def test_a_school_subscribes_only_itself(world):
    api = world.school_a.api
    refused = api.post(f"{API}/subscriptions", body_for(organization="school_b"))
    assert refused.status_code == 400
    assert problem_of(refused)["errors"] == [
        {"field": "organization", "message": "Unknown organization."}
    ]
    assert not Subscription.objects.filter(organization__slug="school_b",
                                           service__service_id="beta_chat").exclude(
        pk=world.school_b.objects["subscription"].pk).exists()  # fmt: skip
    accepted = api.post(f"{API}/subscriptions", body_for(organization="school_a"))
    assert accepted.status_code == 202
    assert accepted.json()["subscription"]["organization"] == "school_a"


def test_staff_must_name_the_school(world):
    api = world.staff.api
    missing = api.post(f"{API}/subscriptions", body_for())
    assert missing.status_code == 400
    assert problem_of(missing)["errors"][0]["field"] == "organization"
    accepted = api.post(f"{API}/subscriptions", body_for(organization="school_a"))
    assert accepted.status_code == 202
    assert accepted.json()["subscription"]["organization"] == "school_a"


def test_vendors_cannot_subscribe_schools(world):
    response = world.vendor_b.api.post(f"{API}/subscriptions", body_for(organization="school_a"))
    assert response.status_code == 403
    problem_of(response)
    assert not Subscription.objects.filter(service__service_id="beta_chat",
                                           organization__slug="school_a").exists()  # fmt: skip


def test_limits_default_to_the_plans(world):
    body = world.school_a.api.post(f"{API}/subscriptions", body_for()).json()
    assert body["subscription"]["max_users"] == 500
    assert body["subscription"]["storage_limit_gb"] == 100
    assert body["operation"]["payload"]["config"] == {"max_users": 500, "storage_limit_gb": 100}


def test_renewing_a_live_subscription_moves_its_end_without_a_vendor_call(world):
    subscription = world.school_a.objects["subscription"]
    new_end = subscription.ends_on + datetime.timedelta(days=30)
    operations = Operation.objects.count()
    response = world.school_a.api.post(
        f"{API}/subscriptions/{subscription.pk}/renew", {"ends_on": new_end.isoformat()}
    )
    assert response.status_code == 200
    assert response.json()["operation"] is None
    assert response.json()["subscription"]["ends_on"] == new_end.isoformat()
    assert Operation.objects.count() == operations


def test_renewing_to_an_earlier_date_is_refused_with_the_field(world):
    subscription = world.school_a.objects["subscription"]
    response = world.school_a.api.post(
        f"{API}/subscriptions/{subscription.pk}/renew",
        {"ends_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 422
    assert problem_of(response)["errors"][0]["field"] == "ends_on"


def test_a_plan_change_needs_the_vendors_update_endpoint(world):
    subscription = world.school_a.objects["subscription"]
    path = f"{API}/subscriptions/{subscription.pk}/change-plan"
    refused = world.school_a.api.post(path, {"plan": "premium"})
    assert refused.status_code == 422
    assert problem_of(refused)["type"].endswith("/unsupported")

    manifest = subscription.service.current_manifest
    manifest.data["endpoints"]["tenant_update"] = "/mt/tenant/{tenant_id}/update"
    manifest.save()
    accepted = world.school_a.api.post(path, {"plan": "premium"})
    assert accepted.status_code == 202
    assert accepted.json()["operation"]["kind"] == "update"
    assert accepted.json()["operation"]["payload"]["plan"] == "premium"
    assert Tenant.objects.get(pk=subscription.tenant_id).state == Tenant.State.UPDATING

    unknown = world.school_a.api.post(path, {"plan": "platinum"})
    assert unknown.status_code == 400
    assert problem_of(unknown)["errors"][0]["field"] == "plan"


def test_cancelling_queues_the_deactivation_and_a_second_cancel_is_refused(world):
    subscription = world.school_a.objects["subscription"]
    path = f"{API}/subscriptions/{subscription.pk}/cancel"
    response = world.school_a.api.post(path)
    assert response.status_code == 202
    body = response.json()
    assert body["subscription"]["status"] == "cancelled"
    assert body["operation"]["kind"] == "deactivate"
    assert body["operation"]["payload"]["reason"] == "admin_request"
    again = world.school_a.api.post(path)
    assert again.status_code == 422
    problem_of(again)


def test_a_cancel_with_a_body_is_refused(world):
    subscription = world.school_a.objects["subscription"]
    response = world.school_a.api.post(
        f"{API}/subscriptions/{subscription.pk}/cancel", {"reason": "x"}
    )
    assert response.status_code == 400
    assert Subscription.objects.get(pk=subscription.pk).status == Subscription.Status.ACTIVE


def test_staff_retry_and_cancel_operations_and_schools_may_not(world):
    operation = world.school_a.objects["operation"]  # failed
    school = world.school_a.api.post(f"{API}/operations/{operation.pk}/retry")
    assert school.status_code == 403
    problem_of(school)
    retried = world.staff.api.post(f"{API}/operations/{operation.pk}/retry")
    assert retried.status_code == 200
    assert retried.json()["state"] == "queued"
    cancelled = world.staff.api.post(f"{API}/operations/{operation.pk}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    refused = world.staff.api.post(f"{API}/operations/{operation.pk}/cancel")
    assert refused.status_code == 422


def test_operations_are_listed_newest_first_with_a_cursor(world):
    tenant = world.school_a.objects["tenant"]
    for n in range(4):
        Operation.objects.create(tenant=tenant, kind=Operation.Kind.STATUS,
                                 created_at=timezone.now() + datetime.timedelta(seconds=n))  # fmt: skip
    api = world.school_a.api
    first = api.get(f"{API}/operations", {"page_size": 3}).json()
    assert len(first["results"]) == 3
    times = [row["created_at"] for row in first["results"]]
    assert times == sorted(times, reverse=True)
    second = api.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 5
    assert second["next"] is None
    assert api.get(f"{API}/operations", {"cursor": "garbage"}).status_code == 404


def test_operations_filter_by_state_and_kind(world):
    api = world.staff.api
    rows = api.get(f"{API}/operations", {"state": "failed", "kind": "activate"}).json()["results"]
    assert {row["id"] for row in rows} == {
        world.school_a.objects["operation"].pk,
        world.school_b.objects["operation"].pk,
    }
    assert api.get(f"{API}/operations", {"state": "succeeded"}).json()["results"] == []
    bad = api.get(f"{API}/operations", {"state": "exploded", "tenant": "x"})
    assert bad.status_code == 400
    assert {e["field"] for e in problem_of(bad)["errors"]} == {"state", "tenant"}


def test_a_tenant_shows_state_access_url_last_status_and_drift(world):
    tenant = world.school_a.objects["tenant"]
    tenant.last_status = {"tenant_id": tenant.tenant_id, "status": "suspended"}
    tenant.last_status_at = timezone.now()
    tenant.drifted = True
    tenant.drift_reason = "the vendor says suspended"
    tenant.save()
    body = world.school_a.api.get(f"{API}/tenants/{tenant.pk}").json()
    assert body["state"] == "active"
    assert body["access_url"] == tenant.access_url
    assert body["last_status"]["status"] == "suspended"
    assert body["drifted"] is True
    assert "temp_password" not in body
    drifted = world.school_a.api.get(f"{API}/tenants", {"drifted": "true"}).json()["results"]
    assert [row["id"] for row in drifted] == [tenant.pk]


def test_lifecycle_events_come_newest_first_in_cursor_pages(world):
    tenant = world.school_a.objects["tenant"]
    for n in range(3):
        record_event(tenant=tenant, kind=f"step_{n}", message=f"Step {n}.")
    api = world.school_a.api
    page = api.get(f"{API}/tenants/{tenant.pk}/events", {"page_size": 2}).json()
    assert [row["kind"] for row in page["results"]] == ["step_2", "step_1"]
    rest = api.get(page["next"]).json()
    assert [row["kind"] for row in rest["results"]] == ["step_0", "subscription_created"]
