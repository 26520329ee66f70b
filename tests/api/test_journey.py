"""The integrator journey of docs/api.md, step by step, against the reference vendor over HTTP.

A token from `create_api_token`, the catalog, a subscription (twice, with one Idempotency-Key),
polling until active, and the tenant's usage. The worker's part is played by calling
`tenants.operations.apply.operation_execute` directly, as the worker would.
"""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring.usage import usage_reports_collect
from tenants.models import Operation, Subscription
from tenants.operations.apply import operation_execute
from tests.api.support import API, ApiClient, next_year
from tests.factories import OrganizationFactory, VendorFactory
from tests.support.vendors import register_reference_service

pytestmark = pytest.mark.django_db


def test_the_integrator_journey(reference_vendor, django_capture_on_commit_callbacks):
    register_reference_service(vendor=VendorFactory(), base_url=reference_vendor.base_url)
    OrganizationFactory(name="한림대학교", slug="hallym_univ")

    # 1. A token for the school (the portal's token page does the same).
    out = StringIO()
    call_command("create_api_token", "--organization", "hallym_univ", "--name", "LMS",
                 stdout=out, stderr=StringIO())  # fmt: skip
    api = ApiClient(out.getvalue().strip())

    # 2. The catalog.
    catalog = api.get(f"{API}/services").json()
    tutor = next(s for s in catalog["results"] if s["service_id"] == "reference_tutor")
    assert [plan["code"] for plan in tutor["plans"]] == ["basic", "standard", "premium"]
    assert tutor["health"]["state"] in ("unknown", "healthy")

    # 3. Subscribe; a retried POST with the same key gives the same answer and nothing new.
    body = {
        "service": "reference_tutor",
        "plan": "premium",
        "ends_on": next_year(),
        "max_users": 500,
        "storage_limit_gb": 100,
        "admin_email": "admin@hallym.ac.kr",
        "admin_name": "홍길동",
    }
    key = str(uuid.uuid4())
    first = api.post(f"{API}/subscriptions", body, headers={"Idempotency-Key": key})
    assert first.status_code == 202, first.content
    again = api.post(f"{API}/subscriptions", body, headers={"Idempotency-Key": key})
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    accepted = first.json()
    assert again.json()["subscription"]["id"] == accepted["subscription"]["id"]
    assert again.json()["operation"]["id"] == accepted["operation"]["id"]
    assert Subscription.objects.count() == 1
    assert Operation.objects.filter(kind=Operation.Kind.ACTIVATE).count() == 1
    subscription_id = accepted["subscription"]["id"]
    operation_id = accepted["operation"]["id"]
    assert first["Location"] == f"/api/v1/subscriptions/{subscription_id}"
    assert accepted["subscription"]["tenant"]["state"] == "requested"
    assert accepted["operation"]["state"] == "queued"

    # 4. Poll the operation until it has finished (the worker runs in between).
    assert operation_execute(operation_id=operation_id) == "succeeded"
    operation = api.get(f"{API}/operations/{operation_id}").json()
    assert operation["state"] == "succeeded"
    subscription = api.get(f"{API}/subscriptions/{subscription_id}").json()
    assert subscription["status"] == "active"
    assert subscription["tenant"]["state"] == "active"
    assert subscription["tenant"]["access_url"].endswith("/app/hallym_univ")
    tenant = api.get(f"{API}/tenants/{subscription['tenant']['id']}").json()
    assert tenant["plan_code"] == "premium"
    assert reference_vendor.stats()["distinct_request_ids"]["activate"] == 1

    # 5. Its usage: the monthly job collects it; an integrator may ask for a month at once.
    month = timezone.localdate().replace(day=1)
    with django_capture_on_commit_callbacks() as callbacks:
        asked = api.post(f"{API}/tenants/{tenant['id']}/usage/collect", {"month": f"{month:%Y-%m}"})
    assert asked.status_code == 202, asked.content
    assert asked.json()["state"] == "pending"
    assert len(callbacks) == 1  # the collection goes to a worker after commit
    usage_reports_collect(report_ids=[asked.json()["id"]])  # the worker's part
    reports = api.get(f"{API}/usage", {"tenant": tenant["id"], "month": f"{month:%Y-%m}"}).json()
    assert reports["count"] == 1
    report = reports["results"][0]
    assert report["state"] == "collected", report["error"]
    assert report["tenant_id"] == "hallym_univ"
    assert {"api_calls", "ai_tokens", "storage_gb", "active_users"} <= set(report["metrics"])


def test_asking_for_another_schools_usage_answers_404(world):
    other_tenant = world.school_b.objects["tenant"]
    response = world.school_a.api.post(
        f"{API}/tenants/{other_tenant.pk}/usage/collect", {"month": "2026-11"}
    )
    assert response.status_code == 404
