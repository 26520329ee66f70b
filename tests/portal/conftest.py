"""Two schools and two vendors, each with data of its own, for the portal's isolation tests."""

import datetime
from dataclasses import dataclass

import pytest
from django.utils import timezone

from monitoring.models import Incident, UsageReport
from services.models import ConformanceRun, Service
from tenants.events import record_event
from tenants.models import Operation, Subscription, Tenant
from tests.factories import (
    ManifestFactory,
    OrganizationFactory,
    PlanFactory,
    SchoolAdminFactory,
    ServiceFactory,
    SubscriptionFactory,
    VendorFactory,
    VendorUserFactory,
)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session", autouse=True)
def compiled_translations(django_db_blocker):
    """The pages are Korean by default: compile the .po files (as `make test` does) and make
    Django reload its catalogs, so Korean text can be asserted."""
    from django.core.management import call_command
    from django.utils.translation import trans_real

    call_command("compile_translations", verbosity=0)
    trans_real._translations = {}
    trans_real._default = None


def listed_service(
    *, vendor, service_id: str, name: str, categories=("tutoring",), **manifest_extra
) -> Service:
    """A listed service with a current manifest and three plans (basic, standard, premium)."""
    service = ServiceFactory(vendor=vendor, service_id=service_id, name=name)
    manifest = ManifestFactory(service=service, raw_text=f"version: '1.0'\n# {service_id}\n")
    data = dict(manifest.data)
    data["service"] = {**data["service"], "categories": list(categories)}
    data["endpoints"] = {**data["endpoints"], "tenant_update": "/mt/tenant/{tenant_id}/update"}
    data["launch"] = {"supported": True}
    data.update(manifest_extra)
    manifest.data = data
    manifest.save()
    service.current_manifest = manifest
    service.save()
    PlanFactory(
        service=service, code="basic", name="Basic", features=["ai_chat"], position=0,
        max_users=100, storage_limit_gb=10, allowed_changes=["premium"],
    )  # fmt: skip
    PlanFactory(
        service=service, code="premium", name="Premium", features=["ai_chat", "rag", "quiz"],
        price=500000, position=1, max_users=1000, storage_limit_gb=200,
    )  # fmt: skip
    return service


@dataclass
class World:
    """Everything one school or vendor owns, named so tests read like sentences."""

    school_a: object
    school_b: object
    admin_a: object
    admin_b: object
    vendor_a: object
    vendor_b: object
    vendor_user_a: object
    vendor_user_b: object
    service_a: Service
    service_b: Service
    subscription_a: Subscription
    subscription_b: Subscription


def _history(subscription: Subscription, label: str) -> None:
    tenant = subscription.tenant
    tenant.access_url = f"https://{label}.example/app/{tenant.tenant_id}"
    tenant.last_status = {
        "tenant_id": tenant.tenant_id,
        "status": "active",
        "users": {"total": 42, "active_today": 7},
        "storage": {"used_gb": 3.5, "limit_gb": 10},
    }
    tenant.last_status_at = timezone.now()
    tenant.save()
    operation = Operation.objects.create(
        tenant=tenant,
        subscription=subscription,
        kind=Operation.Kind.ACTIVATE,
        state=Operation.State.FAILED,
        attempts=1,
        last_status_code=422,
        last_error=f"secret-error-of-{label}",
        last_body_excerpt=f'{{"error": "invalid_request", "message": "body-of-{label}"}}',
    )
    record_event(
        tenant=tenant,
        kind="subscription_created",
        message=f"event-of-{label}",
        operation=operation,
        subscription=subscription,
    )
    this_month = timezone.localdate().replace(day=1)
    previous = (this_month - datetime.timedelta(days=1)).replace(day=1)
    for month, calls in ((previous, 1200), (this_month, 3400)):
        UsageReport.objects.create(
            tenant=tenant,
            month=month,
            state=UsageReport.State.COLLECTED,
            metrics={"api_calls": calls, "ai_tokens": calls * 10, "storage_gb": 3.5,
                     "active_users": 40},
        )  # fmt: skip


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Factory users hash a password each; the default hasher's cost is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db) -> World:
    school_a = OrganizationFactory(name="Alpha School", slug="alpha_school")
    school_b = OrganizationFactory(name="Beta School", slug="beta_school")
    vendor_a = VendorFactory(name="Vendor Alpha")
    vendor_b = VendorFactory(name="Vendor Beta")
    service_a = listed_service(vendor=vendor_a, service_id="alpha_tutor", name="Alpha Tutor")
    service_b = listed_service(
        vendor=vendor_b, service_id="beta_bot", name="Beta Bot", categories=("chatbot",)
    )
    subscription_a = SubscriptionFactory(
        organization=school_a, service=service_a, plan=service_a.plans.get(code="basic"),
        admin_email="it@alpha.example",
    )  # fmt: skip
    subscription_b = SubscriptionFactory(
        organization=school_b, service=service_b, plan=service_b.plans.get(code="basic"),
        admin_email="it@beta.example",
    )  # fmt: skip
    _history(subscription_a, "alpha")
    _history(subscription_b, "beta")
    for service, label in ((service_a, "alpha"), (service_b, "beta")):
        Incident.objects.create(service=service, reason=f"incident-of-{label}")
        ConformanceRun.objects.create(
            service=service,
            result=ConformanceRun.Result.PASSED,
            passed_count=9,
            report={
                "results": [
                    {
                        "id": f"check-of-{label}",
                        "title": "health",
                        "required": True,
                        "outcome": "PASS",
                        "detail": "",
                    }
                ]
            },
        )
    return World(
        school_a=school_a,
        school_b=school_b,
        admin_a=SchoolAdminFactory(organization=school_a, username="admin_a"),
        admin_b=SchoolAdminFactory(organization=school_b, username="admin_b"),
        vendor_a=vendor_a,
        vendor_b=vendor_b,
        vendor_user_a=VendorUserFactory(vendor=vendor_a, username="vendor_a"),
        vendor_user_b=VendorUserFactory(vendor=vendor_b, username="vendor_b"),
        service_a=service_a,
        service_b=service_b,
        subscription_a=subscription_a,
        subscription_b=subscription_b,
    )


@pytest.fixture
def as_user(client):
    """Log the test client in as a user (force_login: axes and passwords are not under test)."""

    def login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def tenant_of(subscription) -> Tenant:
    return Tenant.objects.get(pk=subscription.tenant_id)
