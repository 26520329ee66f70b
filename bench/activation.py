"""Benchmark 2: bulk activation of ``--size`` subscriptions against one slow vendor.

The vendor is a loopback stub (``bench.loopback vendor``, its own process) that answers every
call after ``--delay-ms`` (200) and records the most requests it had in flight at once and the
distinct ``X-Market-Request-Id`` values it saw. One service is registered through
``service_register``; ``--size`` schools each get a subscription through
``tenants.operations.services.subscription_create``, all in one transaction, so their
activations are dispatched together when it commits. Real Celery workers (``--workers`` processes with a
thread pool of ``--concurrency`` each, more slots than the cap so the cap is the limit) run
``tenants.execute_operation``; ``VENDOR_MAX_CONCURRENT_CALLS`` is ``--cap`` (20). The database
is PostgreSQL (a database of our own on 127.0.0.1:5432, dropped afterwards): the executor
serialises claims of one service with a row lock, which SQLite cannot show. Redis db 9 is
the broker.

Figures: the time from the commit until every activation has finished (the last
``Operation.finished_at``) against the ideal ``size x delay / cap``; the stub's most
concurrent requests against the cap; distinct request ids against ``size``.
"""

from __future__ import annotations

import datetime
import math
import sys
import time

from bench import environment
from bench.loopback import stub_stats
from bench.market_data import register_services, schools
from bench.procs import Child, DatabaseCpu, PeerError
from bench.report import Result, Target

TITLE = "Bulk activation against a 200 ms vendor, cap 20"
SLACK = 1.3


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int, default=1000, help="subscriptions (1000)")
    parser.add_argument("--delay-ms", type=float, default=200, help="vendor answer delay (200)")
    parser.add_argument("--cap", type=int, default=20, help="VENDOR_MAX_CONCURRENT_CALLS (20)")
    # The README's Production layout (docker-compose.yml's `worker`): one worker with a pool of
    # 48 threads on the `celery` queue, as the calls mostly wait on vendors. 48 lets the
    # bulkhead (half the slots less one per vendor: 23) leave the service its own cap of 20.
    parser.add_argument("--workers", type=int, default=1, help="celery workers (1)")
    parser.add_argument(
        "--pool", choices=["prefork", "threads"], default="threads", help="worker pool (threads)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=48, help="pool processes/threads per worker (48)"
    )
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], default="postgresql", help="(postgresql)"
    )


def start_vendor(children, work_dir, *, delay_ms: float) -> str:
    argv = [sys.executable, "-m", "bench.loopback", "vendor", "--delay-ms", str(delay_ms)]
    stub = children.add(Child("vendor-stub", argv, log_dir=work_dir, ready_json=True))
    port = stub.read_ready_json(timeout=30)["ports"][0]
    return f"http://127.0.0.1:{port}"


def measure(args, result: Result, children, out) -> None:
    size = args.size
    ideal = size * args.delay_ms / 1000 / args.cap
    result.title = (
        f"Bulk activation: {size:,} subscriptions, {args.delay_ms:g} ms vendor, cap {args.cap}"
    )
    env = environment.prepare(
        "activation",
        children=children,
        database=args.database,
        VENDOR_MAX_CONCURRENT_CALLS=args.cap,
    )
    result.notes.extend(env.notes)
    vendor_url = start_vendor(children, env.work_dir, delay_ms=args.delay_ms)
    environment.setup_django()
    [service] = register_services(base_url=vendor_url, count=1)
    plan = service.plans.get(code="basic")
    organizations = schools(start=0, count=size)
    worker_count = args.workers
    if env.broker_url.startswith("filesystem") and worker_count > 1:
        # Two consumers of the filesystem broker's folder race for a message file.
        worker_count = 1
        result.notes.append("the filesystem broker serves one worker process: ran one")
    workers = [
        environment.start_worker(
            env,
            children,
            pool=args.pool,
            concurrency=args.concurrency,
            queues="celery",
            name=f"worker-{number}",
            wait=False,
        )
        for number in range(worker_count)
    ]
    for worker in workers:
        environment.wait_ready(worker)
    stub_stats(vendor_url, reset=True)

    from django.db import transaction
    from django.db.models import Count, Max

    from tenants.models import Operation, Tenant
    from tenants.operations.services import subscription_create

    ends_on = datetime.date.today() + datetime.timedelta(days=365)
    database_cpu = DatabaseCpu(env.database_url.rsplit("/", 1)[-1]).__enter__()
    cpu_before = sum(worker.cpu_seconds() for worker in workers)
    creating_at = time.time()
    commit_moments: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first after the commit, before the activations' own
        # on_commit hooks send them to the workers (which start on them at once).
        transaction.on_commit(lambda: commit_moments.append(time.time()))
        for organization in organizations:
            subscription_create(
                organization=organization, service=service, plan=plan, ends_on=ends_on,
                max_users=100, storage_limit_gb=10,
                admin_email=f"it@{organization.slug}.example", admin_name="IT Admin",
            )  # fmt: skip
    [committed] = commit_moments
    created_in = committed - creating_at
    activations = Operation.objects.filter(kind=Operation.Kind.ACTIVATE)
    open_states = list(Operation.OPEN_STATES)
    environment.wait_for(
        lambda: not activations.filter(state__in=open_states).exists(),
        timeout=max(120, ideal * 6),
        interval=0.1,
        what=f"the activation of {size:,} subscriptions",
    )
    finished = activations.aggregate(last=Max("finished_at"))["last"]
    wall = finished.timestamp() - committed
    finish_times = sorted(
        moment.timestamp() - committed
        for moment in activations.values_list("finished_at", flat=True)
    )
    time.sleep(0.3)
    cpu = sum(worker.cpu_seconds() for worker in workers) - cpu_before
    database_cpu.__exit__(None, None, None)
    stats = stub_stats(vendor_url)
    active = Tenant.objects.filter(state=Tenant.State.ACTIVE).count()
    by_state = dict(activations.values_list("state").annotate(n=Count("pk")).order_by())
    if stats["requests"].get("activate", 0) == 0:
        raise PeerError("the vendor stub saw no activation request: the workers never called it")

    result.add(
        f"time until all {size:,} active (ideal {ideal:g} s)",
        round(wall, 2),
        "s",
        target=Target("<=", round(ideal * SLACK, 2), text=f"≤ {ideal * SLACK:g} s (1.3 × ideal)"),
    )
    result.add("tenants active", active, target=Target("==", size, text=f"= {size:,}"))
    result.add(
        "most concurrent requests at the vendor",
        stats["max_concurrent"],
        target=Target("<=", args.cap, text=f"≤ {args.cap} (the cap)"),
    )
    result.add(
        "distinct request ids at the vendor",
        stats["distinct_request_ids"].get("activate", 0),
        target=Target("==", size, text=f"= {size:,}"),
    )
    result.add("activate requests at the vendor", stats["requests"].get("activate", 0))
    for share in (0.5, 0.9):
        result.add(
            f"time until {share:.0%} active",
            round(finish_times[max(0, math.ceil(share * len(finish_times)) - 1)], 2),
            "s",
        )
    result.add(
        f"creating {size:,} subscriptions (one transaction, until its commit)",
        round(created_in, 2),
        "s",
    )
    result.add("workers' CPU, commit → all active", round(cpu, 2), "s")
    result.add("workers' CPU per activation", round(cpu * 1000 / size, 1), "ms")
    if env.database_kind == "postgresql":
        result.add("database CPU (this database's backends)", round(database_cpu.seconds, 2), "s")
        result.add(
            "database server CPU, all databases (upper bound, shared server)",
            round(database_cpu.server_seconds, 2),
            "s",
        )
    result.raw.update(
        {
            "size": size,
            "ideal_seconds": ideal,
            "wall_seconds": wall,
            "create_seconds": created_in,
            "worker_cpu_seconds": cpu,
            "database_cpu_seconds": database_cpu.seconds,
            "database_server_cpu_seconds": database_cpu.server_seconds,
            "operations_by_state": by_state,
            "stub": stats,
            "database": env.database_kind,
            "workers": [worker.description for worker in workers],
        }
    )
    result.notes.append(
        f"{len(workers)} × {workers[0].description}; {env.database_kind}; broker "
        f"{env.broker_url.split('://')[0]}; vendor stub answers after {args.delay_ms:g} ms; "
        "time runs from the commit of the subscriptions to the last operation's finished_at"
    )
