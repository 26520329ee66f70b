"""Market rows for the benchmarks: services registered the real way, schools, tenants in bulk.

Services go through ``services.services.service_register`` (manifest validation, the health
call, plans and credentials), as a vendor's would. Schools, tenants, subscriptions and usage
come in with ``bulk_create``: the benchmarks measure reading and processing them, not
creating them one by one.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_MANIFEST = ROOT / "vendorkit" / "reference_manifest.yaml"
API_KEY = "bench-api-key"
SIGNING_SECRET = "bench-signing-secret"  # noqa: S105 - a loopback stub's, not a real secret


def manifest_text(*, base_url: str, service_id: str, name: str = "") -> str:
    """The reference vendor's manifest pointed at ``base_url`` under another service id."""
    data = yaml.safe_load(REFERENCE_MANIFEST.read_text())
    data["endpoints"]["base_url"] = base_url
    data["service"]["id"] = service_id
    data["service"]["name"] = name or service_id.replace("_", " ").title()
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def bench_vendor(slug: str = "bench"):
    from services.models import Vendor

    vendor, _created = Vendor.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "contact_email": f"{slug}@vendor.example"}
    )
    return vendor


def register_services(*, base_url: str, count: int, prefix: str = "bench"):
    """``count`` listed services of one vendor, each under its own path of ``base_url``."""
    from services.services import IssuedCredentials, service_approve, service_register

    vendor = bench_vendor()
    credentials = IssuedCredentials(api_key=API_KEY, signing_secret=SIGNING_SECRET)
    services = []
    for index in range(count):
        service, _issued = service_register(
            vendor=vendor,
            raw_text=manifest_text(
                base_url=f"{base_url}/v{index}",
                service_id=f"{prefix}_{index:02d}",
                name=f"Bench Service {index:02d}",
            ),
            credentials=credentials,
        )
        # A new service waits for its listing checklist; the bench approves by hand, as staff.
        services.append(service_approve(service=service))
    return services


def schools(*, start: int, count: int):
    """Schools ``school-<n>`` for n in [start, start + count), created in bulk."""
    from tenants.models import Organization

    Organization.objects.bulk_create(
        [
            Organization(
                name=f"School {number:05d}",
                slug=f"school-{number:05d}",
                contact_email=f"admin@school-{number:05d}.example",
            )
            for number in range(start, start + count)
        ],
        batch_size=2000,
    )
    slugs = [f"school-{number:05d}" for number in range(start, start + count)]
    return list(Organization.objects.filter(slug__in=slugs).order_by("slug"))


def active_tenants(*, organizations, services, since: datetime.date, plan_code: str = "basic"):
    """An active tenant and a live subscription for every school and service, in bulk.

    Each tenant's activation is logged (``TenantStateChange``) and each subscription carries
    its plan's price snapshot, as ``tenants.states.move`` and subscribing write them.

    Returns the tenants (with pks), in school-then-service order.
    """
    from django.utils import timezone

    from services.models import Plan
    from tenants.models import Subscription, Tenant, TenantStateChange, plan_terms

    plans = {
        plan.service_id: plan for plan in Plan.objects.filter(service__in=services, code=plan_code)
    }
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time(9)))
    pairs = [(organization, service) for organization in organizations for service in services]
    # Distinct creation times (a minute apart, continuing after the rows already there), as
    # real sign-ups have: lists ordered by created_at must not all tie.
    offset = Tenant.objects.count()
    tenants = Tenant.objects.bulk_create(
        [
            Tenant(
                organization=organization,
                service=service,
                tenant_id=organization.slug,
                state=Tenant.State.ACTIVE,
                state_changed_at=start + datetime.timedelta(minutes=offset + index),
                plan_code=plan_code,
                isolation="DATABASE_PER_TENANT",
                access_url=f"https://{organization.slug}.vendor.example/",
                created_at=start + datetime.timedelta(minutes=offset + index),
            )
            for index, (organization, service) in enumerate(pairs)
        ],
        batch_size=2000,
    )
    # Bills count the days the state log shows a tenant active: each was activated on its
    # creation (as ``tenants.states.move`` logs it), so every day since ``since`` is billed.
    TenantStateChange.objects.bulk_create(
        [
            TenantStateChange(
                tenant=tenant,
                previous=Tenant.State.ACTIVATING,
                state=Tenant.State.ACTIVE,
                at=tenant.state_changed_at,
            )
            for tenant in tenants
        ],
        batch_size=2000,
    )
    terms = {service_id: plan_terms(plan) for service_id, plan in plans.items()}
    Subscription.objects.bulk_create(
        [
            Subscription(
                organization_id=tenant.organization_id,
                service_id=tenant.service_id,
                plan=plans[tenant.service_id],
                **terms[tenant.service_id],  # the prices accepted, which bills charge
                tenant=tenant,
                status=Subscription.Status.ACTIVE,
                starts_on=since,
                ends_on=since + datetime.timedelta(days=730),
                max_users=100,
                storage_limit_gb=10,
                admin_email=f"it@{tenant.tenant_id}.example",
                admin_name="IT Admin",
                created_at=tenant.created_at,
            )
            for tenant in tenants
        ],
        batch_size=2000,
    )
    return tenants


def month_starts(last: datetime.date, count: int) -> list[datetime.date]:
    """The first days of the ``count`` months up to and including ``last``'s month."""
    months, month = [], last.replace(day=1)
    for _ in range(count):
        months.append(month)
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return list(reversed(months))
