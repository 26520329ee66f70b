"""Benchmark 4: pages and API lists at the seed's scale and at ten times it.

Data (``bulk_create``): 20 listed services with the reference manifest's three plans, ``size /
20`` schools (100 for the seed's 2,000 tenants) each with an active tenant and a live
subscription at every service, one finished activation per tenant, and 12 months of collected
usage per tenant. Then ``--scale`` (10) times as many schools are added and everything is
measured again.

Each page is requested in-process with Django's test ``Client`` (DEBUG off, as in production; the
database is PostgreSQL, our own, dropped afterwards): once to warm up, once to count its
database queries (``CaptureQueriesContext``), then ``--requests`` times for the median and
p95. The pages: the school catalog and "my subscriptions" (a school admin's session), the
admin change lists of tenants and operations (a superuser's session), and the API lists of
subscriptions, tenants, operations and usage (a staff token; the throttle buckets are emptied
between pages so the default rate never refuses one). Queries must not grow with N.

Requests per second: the API subscription list beside a bare Django ``JsonResponse`` view
(``bench.pages_urls``, no DRF, no auth) that returns the same 50 rows with the same fields,
in alternating blocks.
"""

from __future__ import annotations

import datetime
import time

from bench import environment
from bench.market_data import REFERENCE_MANIFEST, active_tenants, month_starts, schools
from bench.procs import PeerError
from bench.report import Result, Target, median, percentile

TITLE = "Pages and API lists"
SERVICES = 20
RATIO_TARGET = 0.5
USAGE = {"api_calls": 1200, "ai_tokens": 50000, "storage_gb": 1.5, "active_users": 40}

PAGES = [
    ("catalog", "/school/catalog/", "school"),
    ("my subscriptions", "/school/subscriptions/", "school"),
    ("admin: tenants", "/admin/tenants/tenant/", "staff"),
    ("admin: operations", "/admin/tenants/operation/", "staff"),
    ("API: subscriptions", "/api/v1/subscriptions", "api"),
    ("API: tenants", "/api/v1/tenants", "api"),
    ("API: operations", "/api/v1/operations", "api"),
    ("API: usage", "/api/v1/usage", "api"),
]
API_SUBSCRIPTIONS = "/api/v1/subscriptions"
BARE_SUBSCRIPTIONS = "/bench/bare/subscriptions"


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int, default=2000, help="tenants at the first scale (2000)")
    parser.add_argument("--scale", type=int, default=10, help="the second scale's factor (10)")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (30)")
    parser.add_argument("--months", type=int, default=12, help="months of usage (12)")
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], default="postgresql", help="(postgresql)"
    )


# --- data -------------------------------------------------------------------------------------


def _services():
    import yaml

    from bench.market_data import bench_vendor
    from services.models import Manifest, Plan, Service

    reference = yaml.safe_load(REFERENCE_MANIFEST.read_text())
    vendor = bench_vendor()
    services = Service.objects.bulk_create(
        [
            Service(
                vendor=vendor,
                service_id=f"bench_{index:02d}",
                name=f"Bench Service {index:02d}",
                description="A service of the pages benchmark",
                status=Service.Status.LISTED,
                base_url=f"https://svc-{index:02d}.vendor.example",
                health=Service.Health.HEALTHY,
            )
            for index in range(SERVICES)
        ]
    )
    manifests = []
    for service in services:
        data = {
            **reference,
            "service": {**reference["service"], "id": service.service_id, "name": service.name},
            "endpoints": {**reference["endpoints"], "base_url": service.base_url},
        }
        manifests.append(
            Manifest(service=service, vendor=vendor, raw_text="# bench", data=data, is_valid=True)
        )
    Manifest.objects.bulk_create(manifests)
    for service, manifest in zip(services, manifests, strict=True):
        service.current_manifest = manifest
    Service.objects.bulk_update(services, ["current_manifest"])
    Plan.objects.bulk_create(
        [
            Plan(
                service=service,
                code=code,
                name=plan["name"],
                features=plan["features"],
                price=plan["price"],
                max_users=plan["limits"]["max_users"],
                storage_limit_gb=plan["limits"]["storage_limit_gb"],
                unit_prices=plan.get("unit_prices", {}),
                allowed_changes=plan.get("allowed_changes", []),
                position=position,
            )
            for service in services
            for position, (code, plan) in enumerate(reference["plans"].items())
        ]
    )
    return services


def _grow(*, services, start: int, count: int, months: list[datetime.date]) -> None:
    """``count`` more schools with a tenant, subscription, activation and usage per service."""
    from django.utils import timezone

    from tenants.models import Operation

    organizations = schools(start=start, count=count)
    tenants = active_tenants(organizations=organizations, services=services, since=months[0])
    now = timezone.now()
    Operation.objects.bulk_create(
        [
            Operation(
                tenant=tenant,
                kind=Operation.Kind.ACTIVATE,
                state=Operation.State.SUCCEEDED,
                attempts=1,
                payload={"tenant_id": tenant.tenant_id, "plan": "basic"},
                started_at=tenant.created_at,
                finished_at=tenant.created_at,
                last_status_code=200,
                last_latency_ms=180,
                created_at=tenant.created_at,
            )
            for tenant in tenants
        ],
        batch_size=2000,
    )
    _usage_reports(first_tenant_id=tenants[0].pk, months=months, now=now)


def _usage_reports(*, first_tenant_id: int, months: list[datetime.date], now) -> None:
    """A collected report per month for every tenant from ``first_tenant_id`` on.

    One ``INSERT ... SELECT`` (tenants x months) instead of ``bulk_create``: 216,000 rows
    through the ORM take most of a minute, the database makes them in a few seconds.
    """
    import json

    from django.db import connection

    from monitoring.models import UsageReport
    from tenants.models import Tenant

    postgres = connection.vendor == "postgresql"
    date, jsonb = ("::date", "::jsonb") if postgres else ("", "")
    report, tenant = UsageReport._meta.db_table, Tenant._meta.db_table
    month_rows = " UNION ALL ".join(f"SELECT %s{date} AS month" for _ in months)
    # Table names come from the models, every value is a parameter.
    sql = " ".join(
        [
            f"INSERT INTO {report} (created_at, updated_at, tenant_id, month, state, metrics,",
            "attempts, next_attempt_at, collected_at, error, failure)",
            f"SELECT %s, %s, t.id, m.month, %s, %s{jsonb}, 1, %s, %s, '', ''",
            f"FROM {tenant} t CROSS JOIN ({month_rows}) m WHERE t.id >= %s",
        ]
    )
    params = [now, now, UsageReport.State.COLLECTED, json.dumps(USAGE), now, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *months, first_tenant_id])


def _people():
    from market.models import ApiToken, User
    from market.tokens import api_token_create
    from tenants.models import Organization

    staff = User.objects.create(username="bench-staff", is_staff=True, is_superuser=True)
    school = Organization.objects.order_by("slug").first()
    admin = User.objects.create(username="bench-school", organization=school)
    _row, token = api_token_create(name="bench", scope=ApiToken.Scope.STAFF)
    return staff, admin, token


# --- measuring ------------------------------------------------------------------------------


def _clients(staff, admin, token) -> dict:
    from django.test import Client

    school_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    school_client.force_login(admin)
    staff_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_client.force_login(staff)
    api_client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_AUTHORIZATION=f"Bearer {token}")
    return {"school": school_client, "staff": staff_client, "api": api_client}


def _get(client, path: str):
    response = client.get(path)
    if response.status_code != 200:
        raise PeerError(f"{path} answered {response.status_code}, not 200")
    return response


def _measure_page(client, path: str, requests: int) -> dict:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()  # the API's throttle buckets: a new page starts with an empty one
    _get(client, path)
    with CaptureQueriesContext(connection) as queries:
        _get(client, path)
    count = len(queries.captured_queries)  # now: the next request empties the query log
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        _get(client, path)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "queries": count,
        "median_ms": median(times),
        "p95_ms": percentile(times, 0.95),
    }


def _requests_per_second(clients: dict, *, blocks: int = 3, per_block: int = 30) -> dict:
    from django.core.cache import cache

    spent = {"api": 0.0, "bare": 0.0}
    for _ in range(blocks):
        for side, path in (("api", API_SUBSCRIPTIONS), ("bare", BARE_SUBSCRIPTIONS)):
            cache.clear()
            _get(clients["api"], path)
            started = time.perf_counter()
            for _request in range(per_block):
                _get(clients["api"], path)
            spent[side] += time.perf_counter() - started
    count = blocks * per_block
    return {side: count / seconds for side, seconds in spent.items()}


def _same_rows(client) -> bool:
    api = _get(client, API_SUBSCRIPTIONS).json()["results"]
    bare = _get(client, BARE_SUBSCRIPTIONS).json()["results"]
    return [row["id"] for row in api] == [row["id"] for row in bare] and set(api[0]) == set(bare[0])


def measure(args, result: Result, children, out) -> None:
    service_count = SERVICES
    first_schools = max(1, args.size // service_count)
    second_schools = first_schools * args.scale
    sizes = (first_schools * service_count, second_schools * service_count)
    result.title = f"{TITLE}: {sizes[0]:,} and {sizes[1]:,} tenants"
    env = environment.prepare("pages", children=children, database=args.database)
    result.notes.extend(env.notes)
    environment.setup_django()

    from django.conf import settings
    from django.test.utils import override_settings
    from django.utils import timezone

    months = month_starts(timezone.localdate(), args.months)
    services = _services()
    measured: dict[int, dict] = {}
    rps: dict[int, dict] = {}
    # DEBUG is off (production's mode), but the static files are not collected: plain storage.
    plain_static = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # fmt: skip
    with override_settings(ROOT_URLCONF="bench.pages_urls", STORAGES=plain_static):
        built = 0
        for size, school_count in zip(sizes, (first_schools, second_schools), strict=True):
            started = time.perf_counter()
            _grow(services=services, start=built, count=school_count - built, months=months)
            built = school_count
            out.write(f"  built {size:,} tenants in {time.perf_counter() - started:.1f} s\n")
            if not measured:
                clients = _clients(*_people())
                if not _same_rows(clients["api"]):
                    raise PeerError("the bare view does not return the API's rows and fields")
            measured[size] = {}
            for name, path, who in PAGES:
                measured[size][name] = _measure_page(clients[who], path, args.requests)
                page = measured[size][name]
                out.write(
                    f"  N={size:,} {name:20} {page['queries']:3} queries, median "
                    f"{page['median_ms']:7.1f} ms, p95 {page['p95_ms']:7.1f} ms\n"
                )
                out.flush()
            rps[size] = _requests_per_second(clients)
    _figures(result, sizes=sizes, measured=measured, rps=rps)
    result.raw.update(
        {"sizes": sizes, "pages": measured, "requests_per_second": rps,
         "database": env.database_kind, "months": args.months}
    )  # fmt: skip
    result.notes.append(
        f"{env.database_kind}; in-process Django test Client, DEBUG off; {args.requests} timed "
        f"requests per page after one warm-up and one counted request; {service_count} "
        f"services, {first_schools:,} then {second_schools:,} schools, {args.months} months of "
        "usage per tenant; requests/s from 3 alternating blocks of 30 requests"
    )


def _figures(result: Result, *, sizes, measured, rps) -> None:
    small, large = sizes
    for name, _path, _who in PAGES:
        before, after = measured[small][name]["queries"], measured[large][name]["queries"]
        result.add(
            f"queries: {name} (N={small:,} → {large:,})",
            f"{before} → {after}",
            target=Target("<=", before, text="no growth"),
            passed=after <= before,
        )
    for size in sizes:
        for name, _path, _who in PAGES:
            page = measured[size][name]
            result.add(
                f"time: {name} (N={size:,}), median / p95",
                f"{page['median_ms']:.1f} / {page['p95_ms']:.1f}",
                "ms",
            )
    for size in sizes:
        api, bare = rps[size]["api"], rps[size]["bare"]
        result.add(f"API subscription list (N={size:,})", round(api), "req/s")
        result.add(f"bare JsonResponse, same rows (N={size:,})", round(bare), "req/s")
        result.add(
            f"API / bare requests per second (N={size:,})",
            round(api / bare, 2),
            "×",
            target=Target(">=", RATIO_TARGET),
        )
