"""The shared API world: two schools and two vendors, each with every kind of object and a token.

Every resource's tests reuse it, so each endpoint is proven against an owner and an outsider
(school A never sees school B's rows; vendor A never sees vendor B's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.utils import timezone

from market.models import ApiToken
from market.tokens import api_token_create
from monitoring.models import HealthRollup, Incident, Statement, StatementLine, UsageReport
from tenants.events import record_event
from tenants.models import Operation
from tests.api.support import ApiClient
from tests.factories import (
    ManifestFactory,
    OrganizationFactory,
    PlanFactory,
    SchoolAdminFactory,
    ServiceFactory,
    StaffFactory,
    SubscriptionFactory,
    VendorFactory,
    VendorUserFactory,
)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Factory users get a password each; the production hasher would make every world slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_throttle_buckets():
    """Throttle counters live in the cache; one test's requests must not slow down the next."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class Side:
    """One school or one vendor and everything of theirs."""

    name: str
    token: str
    token_row: ApiToken
    user: object
    objects: dict[str, object] = field(default_factory=dict)

    @property
    def api(self) -> ApiClient:
        return ApiClient(self.token)


@dataclass
class World:
    staff: Side
    school_a: Side
    school_b: Side
    vendor_a: Side
    vendor_b: Side

    def side(self, name: str) -> Side:
        return getattr(self, name)


def _service_with_plans(vendor, service_id: str):
    service = ServiceFactory(vendor=vendor, service_id=service_id, name=service_id.title())
    manifest = ManifestFactory(service=service)
    service.current_manifest = manifest
    service.save()
    basic = PlanFactory(service=service, code="basic", name="Basic", position=0)
    PlanFactory(service=service, code="premium", name="Premium", features=["ai_chat", "rag"],
                price=300000, position=1)  # fmt: skip
    return service, basic


def _school_objects(organization, service, plan, *, month) -> dict:
    subscription = SubscriptionFactory(organization=organization, service=service, plan=plan)
    tenant = subscription.tenant
    tenant.access_url = f"https://{tenant.tenant_id}.example/app"
    tenant.save()
    operation = Operation.objects.create(
        tenant=tenant,
        subscription=subscription,
        kind=Operation.Kind.ACTIVATE,
        payload={"tenant_id": tenant.tenant_id},
        state=Operation.State.FAILED,
    )
    event = record_event(tenant=tenant, kind="subscription_created", message="Subscribed.",
                         subscription=subscription, operation=operation)  # fmt: skip
    usage = UsageReport.objects.create(
        tenant=tenant,
        month=month,
        state=UsageReport.State.COLLECTED,
        metrics={"api_calls": 10, "ai_tokens": 100, "storage_gb": 1.5, "active_users": 3},
        collected_at=timezone.now(),
    )
    statement = Statement.objects.create(organization=organization, month=month, total=100000)
    StatementLine.objects.create(
        statement=statement,
        subscription=subscription,
        kind=StatementLine.Kind.PLAN,
        description=f"{service.name} Basic",
        quantity=31,
        unit_price="3225.8065",
        amount=100000,
    )
    return {
        "subscription": subscription,
        "tenant": tenant,
        "operation": operation,
        "event": event,
        "usage": usage,
        "statement": statement,
    }


def _token(*, scope, user, organization=None, vendor=None) -> tuple[str, ApiToken]:
    row, plaintext = api_token_create(
        name=f"{scope} test token", scope=scope, organization=organization, vendor=vendor,
        created_by=user,
    )  # fmt: skip
    return plaintext, row


@pytest.fixture
def world(db) -> World:
    month = timezone.localdate().replace(day=1)
    vendors = {}
    for name, service_id in (("vendor_a", "alpha_tutor"), ("vendor_b", "beta_chat")):
        vendor = VendorFactory(slug=name.replace("_", "-"), name=name.title())
        service, basic = _service_with_plans(vendor, service_id)
        Incident.objects.create(service=service, reason=f"{service_id} was down", failed_checks=3)
        HealthRollup.objects.create(
            service=service,
            hour=timezone.now().replace(minute=0, second=0, microsecond=0),
            checks=60,
            failures=1,
        )
        vendors[name] = (vendor, service, basic)

    sides = {}
    for name, vendor_name in (("school_a", "vendor_a"), ("school_b", "vendor_b")):
        organization = OrganizationFactory(slug=name, name=name.replace("_", " ").title())
        admin = SchoolAdminFactory(organization=organization)
        _vendor, service, plan = vendors[vendor_name]
        objects = _school_objects(organization, service, plan, month=month)
        objects["organization"] = organization
        token, row = _token(
            scope=ApiToken.Scope.ORGANIZATION, user=admin, organization=organization
        )
        objects["api_token"] = row
        sides[name] = Side(name, token, row, admin, objects)
    for name, (vendor, service, _plan) in vendors.items():
        user = VendorUserFactory(vendor=vendor)
        token, row = _token(scope=ApiToken.Scope.VENDOR, user=user, vendor=vendor)
        school = sides["school_a" if name == "vendor_a" else "school_b"]
        objects = {
            "vendor": vendor,
            "service": service,
            "incident": service.incidents.get(),
            "api_token": row,
            # The tenants of a vendor's service are the vendor's to see too.
            **{
                k: school.objects[k]
                for k in ("subscription", "tenant", "operation", "event", "usage")
            },
        }
        sides[name] = Side(name, token, row, user, objects)
    staff_user = StaffFactory()
    token, row = _token(scope=ApiToken.Scope.STAFF, user=staff_user)
    sides["staff"] = Side("staff", token, row, staff_user, {"api_token": row})
    return World(**sides)


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient()
