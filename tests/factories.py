"""factory_boy factories for every model, shared by the whole suite."""

import datetime

import factory
from django.utils import timezone

from market.models import User
from services.models import Manifest, Plan, Service, Vendor
from tenants.models import Organization, Subscription, Tenant, TenantStateChange


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Vendor {n}")
    slug = factory.Sequence(lambda n: f"vendor-{n}")
    contact_email = factory.Sequence(lambda n: f"contact{n}@vendor.example")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    vendor = factory.SubFactory(VendorFactory)
    service_id = factory.Sequence(lambda n: f"service_{n}")
    name = factory.Sequence(lambda n: f"Service {n}")
    description = "An education service."
    status = Service.Status.LISTED
    base_url = "http://127.0.0.1:9001"


class ManifestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manifest

    service = factory.SubFactory(ServiceFactory)
    vendor = factory.SelfAttribute("service.vendor")
    raw_text = "version: '1.0'\n"
    data = factory.LazyAttribute(
        lambda m: {
            "version": "1.0",
            "service": {
                "id": m.service.service_id,
                "name": m.service.name,
                "version": "1.0.0",
                "vendor": m.service.vendor.name,
            },
            "endpoints": {
                "base_url": m.service.base_url,
                "health": "/mt/health",
                "tenant_activate": "/mt/tenant/{tenant_id}/activate",
                "tenant_deactivate": "/mt/tenant/{tenant_id}/deactivate",
                "tenant_status": "/mt/tenant/{tenant_id}/status",
                "usage_report": "/mt/tenant/{tenant_id}/usage",
                "user_access": "/app/{tenant_id}",
            },
            "auth": {"type": "api_key", "header": "X-Market-API-Key"},
            "isolation": {"supported": ["DATABASE_PER_TENANT"], "default": "DATABASE_PER_TENANT"},
            "features": {"basic": ["ai_chat"], "premium": ["ai_chat", "rag", "quiz"]},
        }
    )
    is_valid = True


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("service", "code")

    service = factory.SubFactory(ServiceFactory)
    code = "basic"
    name = "Basic"
    features = ["ai_chat"]
    price = 100000
    max_users = 500
    storage_limit_gb = 100


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"School {n}")
    slug = factory.Sequence(lambda n: f"school_{n}")
    contact_email = factory.Sequence(lambda n: f"office{n}@school.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    is_superuser = True


class SchoolAdminFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory)


class VendorUserFactory(UserFactory):
    vendor = factory.SubFactory(VendorFactory)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    organization = factory.SubFactory(OrganizationFactory)
    service = factory.SubFactory(ServiceFactory)
    tenant_id = factory.SelfAttribute("organization.slug")
    state = Tenant.State.ACTIVE
    plan_code = "basic"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    service = factory.SubFactory(ServiceFactory)
    plan = factory.SubFactory(PlanFactory, service=factory.SelfAttribute("..service"))
    tenant = factory.SubFactory(
        TenantFactory,
        organization=factory.SelfAttribute("..organization"),
        service=factory.SelfAttribute("..service"),
    )
    starts_on = factory.LazyFunction(timezone.localdate)
    ends_on = factory.LazyAttribute(lambda s: s.starts_on + datetime.timedelta(days=365))
    max_users = 100
    storage_limit_gb = 10
    admin_email = "it@school.example"
    admin_name = "홍길동"
    # The plan's terms as accepted when subscribing (what bills charge).
    price = factory.LazyAttribute(lambda s: s.plan.price)
    currency = factory.LazyAttribute(lambda s: s.plan.currency)
    billing_period = factory.LazyAttribute(lambda s: s.plan.billing_period)
    unit_prices = factory.LazyAttribute(lambda s: dict(s.plan.unit_prices or {}))
    overage_prices = factory.LazyAttribute(lambda s: dict(s.plan.overage_prices or {}))

    @factory.post_generation
    def delivered(obj, create, extracted, **kwargs):
        """Log the tenant as active since the start day, as if its activation had succeeded.

        Skipped with ``delivered=False``, for a tenant that never became active, or when the
        tenant already has a logged state (a test writing its own history).
        """
        tenant = obj.tenant
        if not create or extracted is False or tenant is None:
            return
        never = {Tenant.State.REQUESTED, Tenant.State.ACTIVATING, Tenant.State.NEEDS_ATTENTION}
        if tenant.state in never or tenant.state_changes.exists():
            return
        start = datetime.datetime.combine(obj.starts_on, datetime.time.min)
        TenantStateChange.objects.create(
            tenant=tenant,
            previous=Tenant.State.ACTIVATING,
            state=Tenant.State.ACTIVE,
            at=timezone.make_aware(start),
        )
