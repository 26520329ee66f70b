"""Benchmark 3: the month's usage collection and the billing run for ``--size`` tenants.

A loopback stub vendor (``bench.loopback vendor``, its own process) answers every usage call
after ``--delay-ms`` (50) with the four seed metrics. ``--services`` (20) services are
registered through ``service_register`` (the reference manifest: ``usage_report`` declared,
unit prices on ``ai_tokens``), and ``size / services`` schools each have an active tenant and
a live subscription (plan basic) at every service since two months before last month.

Collection: the monthly beat entry's task ``monitoring.collect_monthly_usage`` (for last
month) sent to a real Celery worker (prefork, one process per core), which prepares the
reports and fans them out in chunks (``collect_usage_chunk``); the time runs from sending the
task to the last report's ``updated_at``, all reports collected. Billing: the task
``monitoring.generate_monthly_statements`` for the same month, from sending it to the last
statement's ``updated_at``, one statement per school. CPU: the worker and its pool processes
(``/proc``), before and after each. The database is PostgreSQL (our own, dropped afterwards),
else SQLite with a note.
"""

from __future__ import annotations

import datetime
import math
import os
import sys
import time

from bench import environment
from bench.loopback import stub_stats
from bench.market_data import active_tenants, register_services, schools
from bench.procs import Child, PeerError
from bench.report import Result, Target

TITLE = "Usage collection and billing"
COLLECTION_TARGET = 30.0
BILLING_TARGET = 2.0


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int, default=10_000, help="tenants (10000)")
    parser.add_argument("--services", type=int, default=20, help="services (20)")
    parser.add_argument("--delay-ms", type=float, default=50, help="vendor answer delay (50)")
    parser.add_argument(
        "--processes", type=int, default=None, help="worker pool processes (one per core)"
    )
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], default="postgresql", help="(postgresql)"
    )


def _start_vendor(children, work_dir, *, delay_ms: float) -> str:
    argv = [sys.executable, "-m", "bench.loopback", "vendor", "--delay-ms", str(delay_ms)]
    stub = children.add(Child("vendor-stub", argv, log_dir=work_dir, ready_json=True))
    return f"http://127.0.0.1:{stub.read_ready_json(timeout=30)['ports'][0]}"


def measure(args, result: Result, children, out) -> None:
    size = args.size
    service_count = max(1, min(args.services, size))
    school_count = math.ceil(size / service_count)
    result.title = f"Usage collection and billing: {school_count * service_count:,} tenants"
    env = environment.prepare("usage", children=children, database=args.database)
    result.notes.extend(env.notes)
    vendor_url = _start_vendor(children, env.work_dir, delay_ms=args.delay_ms)
    environment.setup_django()

    from django.db.models import Count, Max

    from market.lib.months import previous_month
    from monitoring.models import Statement, UsageReport
    from monitoring.tasks import collect_monthly_usage, generate_monthly_statements

    month = previous_month()
    since = (month - datetime.timedelta(days=40)).replace(day=1)
    services = register_services(base_url=vendor_url, count=service_count)
    organizations = schools(start=0, count=school_count)
    tenants = len(active_tenants(organizations=organizations, services=services, since=since))
    worker = environment.start_worker(env, children, concurrency=args.processes, queues="celery")
    stub_stats(vendor_url, reset=True)

    # Collection.
    cpu_before = worker.cpu_seconds()
    sent = time.time()
    collect_monthly_usage.delay(month=f"{month:%Y-%m}")
    reports = UsageReport.objects.filter(month=month)
    environment.wait_for(
        lambda: (
            reports.count() == tenants
            and not reports.filter(state=UsageReport.State.PENDING).exists()
        ),
        timeout=180,
        interval=0.1,
        what=f"the collection of {tenants:,} usage reports",
    )
    collection_wall = reports.aggregate(last=Max("updated_at"))["last"].timestamp() - sent
    time.sleep(0.3)
    collection_cpu = worker.cpu_seconds() - cpu_before
    states = dict(reports.values_list("state").annotate(n=Count("pk")).order_by())
    stats = stub_stats(vendor_url)
    if not stats["requests"].get("usage"):
        raise PeerError("the vendor stub saw no usage request: the worker never called it")

    # Billing.
    cpu_before = worker.cpu_seconds()
    sent = time.time()
    generate_monthly_statements.delay(month=f"{month:%Y-%m}")
    statements = Statement.objects.filter(month=month)
    environment.wait_for(
        lambda: statements.count() >= school_count,
        timeout=120,
        interval=0.05,
        what=f"the statements of {school_count:,} schools",
    )
    billing_wall = statements.aggregate(last=Max("updated_at"))["last"].timestamp() - sent
    time.sleep(0.3)
    billing_cpu = worker.cpu_seconds() - cpu_before
    usage_lines = statements.filter(lines__kind="usage").distinct().count()

    collected = states.get(UsageReport.State.COLLECTED, 0)
    result.add(
        f"collection: {tenants:,} reports, wall",
        round(collection_wall, 2),
        "s",
        target=Target("<=", COLLECTION_TARGET, text=f"≤ {COLLECTION_TARGET:g} s"),
    )
    result.add("collection: worker CPU", round(collection_cpu, 2), "s")
    result.add(
        "collection: reports collected",
        collected,
        target=Target("==", tenants, text=f"= {tenants:,}"),
    )
    result.add("collection: usage calls at the vendor", stats["requests"].get("usage", 0))
    result.add(
        f"billing: {school_count:,} statements, wall",
        round(billing_wall, 2),
        "s",
        target=Target("<=", BILLING_TARGET, text=f"≤ {BILLING_TARGET:g} s"),
    )
    result.add("billing: worker CPU", round(billing_cpu, 2), "s")
    result.add(
        "billing: statements with usage lines",
        usage_lines,
        target=Target("==", school_count, text=f"= {school_count:,}"),
    )
    result.raw.update(
        {
            "tenants": tenants,
            "schools": school_count,
            "services": service_count,
            "month": f"{month:%Y-%m}",
            "collection": {"wall": collection_wall, "cpu": collection_cpu, "states": states},
            "billing": {"wall": billing_wall, "cpu": billing_cpu},
            "stub": stats,
            "worker": worker.description,
            "database": env.database_kind,
            "processes": args.processes or os.cpu_count(),
        }
    )
    result.notes.append(
        f"{worker.description}; {env.database_kind}; {service_count} services × "
        f"{school_count:,} schools; vendor answers after {args.delay_ms:g} ms; "
        "times run from sending the task to the last row it wrote"
    )
