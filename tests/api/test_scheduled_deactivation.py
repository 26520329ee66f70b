"""Staff deactivate a tenant now or at a scheduled time; bad times get precise errors."""

import datetime

import pytest
from django.utils import timezone

from tenants.models import Operation, Tenant
from tests.api.support import API, problem_of

pytestmark = pytest.mark.django_db


def _tenant(world) -> Tenant:
    tenant = world.school_a.objects["tenant"]
    Tenant.objects.filter(pk=tenant.pk).update(state=Tenant.State.ACTIVE)
    return tenant


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _deactivations(tenant) -> int:
    return Operation.objects.filter(tenant=tenant, kind=Operation.Kind.DEACTIVATE).count()


def test_staff_schedule_a_deactivation_the_body_carries_it_in_whole_seconds(world):
    tenant = _tenant(world)
    when = (timezone.now() + datetime.timedelta(days=3)).replace(microsecond=654321)
    response = world.staff.api.post(
        f"{API}/tenants/{tenant.pk}/deactivate",
        {"deactivate_at": when.isoformat(), "reason": "admin_request", "preserve_data": True},
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["tenant"]["state"] == "active"  # active until the moment
    operation = Operation.objects.get(pk=body["operation"]["id"])
    assert operation.payload["deactivate_at"] == _rfc3339(when)
    assert "." not in operation.payload["deactivate_at"]
    assert operation.next_attempt_at == when.replace(microsecond=0)
    assert operation.payload["preserve_data"] is True


def test_a_second_schedule_is_a_conflict_and_now_brings_the_scheduled_one_forward(world):
    tenant = _tenant(world)
    later = timezone.now() + datetime.timedelta(days=10)
    first = world.staff.api.post(
        f"{API}/tenants/{tenant.pk}/deactivate", {"deactivate_at": later.isoformat()}
    )
    assert first.status_code == 202
    again = world.staff.api.post(
        f"{API}/tenants/{tenant.pk}/deactivate",
        {"deactivate_at": (later + datetime.timedelta(days=1)).isoformat()},
    )
    assert again.status_code == 409
    problem = problem_of(again)
    assert problem["type"].endswith("/already-scheduled")
    assert "cancel that operation first" in problem["detail"]

    now = world.staff.api.post(f"{API}/tenants/{tenant.pk}/deactivate", {})
    assert now.status_code == 202
    assert now.json()["operation"]["id"] == first.json()["operation"]["id"]
    assert _deactivations(tenant) == 1
    operation = Operation.objects.get(pk=first.json()["operation"]["id"])
    assert operation.next_attempt_at <= timezone.now()
    assert Tenant.objects.get(pk=tenant.pk).state == Tenant.State.DEACTIVATING


@pytest.mark.parametrize(
    ("value", "status", "expected"),
    [
        (lambda now: now - datetime.timedelta(minutes=5), 422, "is in the past (now is "),
        (lambda now: now + datetime.timedelta(days=400), 422, "is more than 366 days ahead"),
        (lambda now: now.replace(tzinfo=None) + datetime.timedelta(days=1), 400, "offset"),
        (lambda now: "next tuesday", 400, "Datetime has wrong format"),
    ],
)
def test_bad_times_are_refused_naming_deactivate_at_and_nothing_is_queued(
    world, value, status, expected
):
    tenant = _tenant(world)
    moment = value(timezone.now())
    text = moment if isinstance(moment, str) else moment.isoformat()
    response = world.staff.api.post(
        f"{API}/tenants/{tenant.pk}/deactivate", {"deactivate_at": text}
    )
    assert response.status_code == status, response.content
    problem = problem_of(response)
    (error,) = problem["errors"]
    assert error["field"] == "deactivate_at"
    assert expected in error["message"]
    assert _deactivations(tenant) == 0
    assert Tenant.objects.get(pk=tenant.pk).state == Tenant.State.ACTIVE


def test_a_school_may_not_deactivate_through_this_endpoint(world):
    tenant = _tenant(world)
    response = world.school_a.api.post(f"{API}/tenants/{tenant.pk}/deactivate", {})
    assert response.status_code == 403
    problem_of(response)
    assert _deactivations(tenant) == 0
