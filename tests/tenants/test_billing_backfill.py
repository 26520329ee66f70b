"""The migration that adds price snapshots and the state log fills them for existing rows."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

SERVICES = ("services", "0005_plan_overage_prices")
BEFORE = [("tenants", "0004_verbose_names"), SERVICES]
AFTER = [("tenants", "0005_billing_snapshots"), SERVICES]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest():
    """Leave the database fully migrated for the tests after this one, whatever happens."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_subscriptions_take_their_plans_terms_and_tenants_their_history(
    back_to_the_latest,
):
    apps = migrate(BEFORE)
    Vendor = apps.get_model("services", "Vendor")
    Service = apps.get_model("services", "Service")
    Plan = apps.get_model("services", "Plan")
    Organization = apps.get_model("tenants", "Organization")
    Tenant = apps.get_model("tenants", "Tenant")
    Subscription = apps.get_model("tenants", "Subscription")
    Operation = apps.get_model("tenants", "Operation")
    vendor = Vendor.objects.create(name="V", slug="v", contact_email="v@example.com")
    service = Service.objects.create(vendor=vendor, service_id="svc", name="Svc")
    plan = Plan.objects.create(
        service=service, code="basic", name="Basic", price=30000, unit_prices={"ai_tokens": "0.01"}
    )
    school = Organization.objects.create(name="S", slug="s", contact_email="s@example.com")
    activated = Tenant.objects.create(
        organization=school, service=service, tenant_id="s", state="active"
    )
    finished = datetime(2026, 4, 21, 1, 0, tzinfo=UTC)
    Operation.objects.create(
        tenant=activated,
        kind="activate",
        state="failed",
        finished_at=datetime(2026, 4, 1, tzinfo=UTC),
    )
    Operation.objects.create(
        tenant=activated, kind="activate", state="succeeded", finished_at=finished
    )
    Subscription.objects.create(
        organization=school, service=service, plan=plan, tenant=activated,
        starts_on=date(2026, 4, 1), ends_on=date(2027, 4, 1), max_users=10,
        storage_limit_gb=1, admin_email="a@example.com", admin_name="A",
    )  # fmt: skip

    apps = migrate(AFTER)
    subscription = apps.get_model("tenants", "Subscription").objects.get()
    assert (subscription.price, subscription.billing_period) == (30000, "monthly")
    assert subscription.unit_prices == {"ai_tokens": "0.01"}
    changes = apps.get_model("tenants", "TenantStateChange").objects.all()
    assert [(c.state, c.at) for c in changes] == [("active", finished)]
