"""Benchmark: webhook fan-out, ``--events`` events to ``--endpoints`` receivers answering in 50 ms.

``--endpoints`` schools (100) each register one endpoint for every event type, at its own path
on a loopback ``bench.loopback webhook`` stub (its own process, answering 200 after
``--delay-ms``). ``--events`` events (10,000) are recorded in one transaction with
``events.services.event_record_many``, spread evenly over the schools, so each event belongs
to exactly one endpoint: ``--events`` deliveries in all (each school sees only its own). When
the transaction commits, real Celery workers (``--workers`` processes with a thread pool of
``--concurrency``) fan the events out and deliver them through ``market.lib.outbound``.

Figures: deliveries per second from the commit to the last delivery's ``finished_at``, the
workers' CPU per delivery, the most requests one endpoint had in flight (the bulkhead: at most
``WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT``), and distinct ``webhook-id`` values received.

The target is the physical floor of the worker slots: each delivery holds a slot for at least
the receiver's ``delay_ms``, so ``workers × concurrency`` slots deliver at most
``slots / delay`` per second; we aim for half of that (the rest is the database round trips of
claiming and recording each attempt, on 2 shared cores).
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace

from bench import environment
from bench.loopback import stub_stats
from bench.procs import Child, PeerError
from bench.report import Result, Target

TITLE = "Webhook fan-out to loopback endpoints answering in 50 ms"


def add_arguments(parser) -> None:
    parser.add_argument("--events", type=int, default=10_000, help="events (10000)")
    parser.add_argument("--endpoints", type=int, default=100, help="endpoints (100)")
    parser.add_argument("--delay-ms", type=float, default=50, help="receiver delay (50)")
    parser.add_argument("--workers", type=int, default=2, help="celery workers (2)")
    parser.add_argument("--concurrency", type=int, default=12, help="threads per worker (12)")
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], default="postgresql", help="(postgresql)"
    )
    parser.add_argument(
        "--database-url", default="", help="an existing database to use instead of a fresh one"
    )


def _start_receivers(children, work_dir, *, delay_ms: float) -> str:
    argv = [sys.executable, "-m", "bench.loopback", "webhook", "--ports", "1",
            "--delay-ms", str(delay_ms)]  # fmt: skip
    stub = children.add(Child("webhook-stub", argv, log_dir=work_dir, ready_json=True))
    port = stub.read_ready_json(timeout=30)["ports"][0]
    return f"http://127.0.0.1:{port}"


def _tenant(index: int, organization_id: int) -> SimpleNamespace:
    """A tenant as the payload builder reads it (the benchmark measures delivery, not tenants)."""
    return SimpleNamespace(
        pk=index + 1, tenant_id=f"bench_{organization_id}", organization_id=organization_id,
        service_id=1, state="active", plan_code="basic", access_url="https://lms.example/",
        data_preserved=None, reactivation_deadline=None, attention_reason="", drift_reason="",
    )  # fmt: skip


def measure(args, result: Result, children, out) -> None:
    size, endpoints = args.events, args.endpoints
    slots = args.workers * args.concurrency
    floor = slots / (args.delay_ms / 1000)
    result.title = (
        f"Webhook fan-out: {size:,} events to {endpoints} endpoints answering in "
        f"{args.delay_ms:g} ms"
    )
    env = environment.prepare(
        "webhooks",
        children=children,
        database="sqlite" if args.database_url else args.database,
        WEBHOOK_TOTAL_TIMEOUT_MS=10000,
    )
    if args.database_url:
        import os

        os.environ["DATABASE_URL"] = env.database_url = args.database_url
        env.database_kind = args.database_url.split(":", 1)[0]
    result.notes.extend(env.notes)
    base = _start_receivers(children, env.work_dir, delay_ms=args.delay_ms)
    environment.setup_django()

    from django.db import transaction
    from django.db.models import Max

    from events.services import event_record_many
    from tenants.models import Organization
    from webhooks.models import Delivery, Endpoint
    from webhooks.signing import secret_new

    # Rows of an earlier run (their secrets under that run's throwaway key stay unread).
    Delivery.objects.filter(endpoint__description="bench").delete()
    Endpoint.objects.filter(description="bench").only("pk").delete()
    organizations = [
        Organization.objects.get_or_create(
            slug=f"bench_hooks_{n}",
            defaults={"name": f"Bench school {n}", "contact_email": f"it{n}@bench.example"},
        )[0]
        for n in range(endpoints)
    ]
    hooks = Endpoint.objects.bulk_create(
        [
            Endpoint(
                owner_kind="organization",
                organization=organization,
                url=f"{base}/hooks/{organization.pk}",
                event_types=["*"],
                secret=secret_new(),
                description="bench",
            )  # fmt: skip
            for organization in organizations
        ]
    )
    workers = [
        environment.start_worker(
            env,
            children,
            pool="threads",
            concurrency=args.concurrency,
            queues="celery",
            name=f"worker-{n}",
            wait=False,
        )  # fmt: skip
        for n in range(args.workers if not env.broker_url.startswith("filesystem") else 1)
    ]
    for worker in workers:
        environment.wait_ready(worker)
    stub_stats(base, reset=True)

    cpu_before = sum(worker.cpu_seconds() for worker in workers)
    commits: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: commits.append(time.time()))
        for start in range(0, size, 1000):
            items = [
                {"tenant": _tenant(i, organizations[i % endpoints].pk), "vendor": 1}
                for i in range(start, min(size, start + 1000))
            ]
            event_record_many(type="tenant.activated", actor="bench", items=items)
    [committed] = commits
    mine = Delivery.objects.filter(endpoint__in=hooks)
    environment.wait_for(
        lambda: mine.filter(state="succeeded").count() >= size,
        timeout=max(180, size / 20),
        interval=0.5,
        what=f"the delivery of {size:,} events",
    )
    last = mine.aggregate(last=Max("finished_at"))["last"].timestamp()
    time.sleep(0.3)
    cpu = sum(worker.cpu_seconds() for worker in workers) - cpu_before
    stats = stub_stats(base)
    if stats["requests"].get("webhook", 0) == 0:
        raise PeerError("the receivers saw no request: the workers never delivered")
    wall = last - committed
    rate = size / wall
    result.add(
        f"deliveries per second (floor of {slots} slots: {floor:g}/s)",
        round(rate, 1),
        "/s",
        target=Target(">=", round(floor / 2, 1), text=f"≥ {floor / 2:g}/s (half the floor)"),
    )
    result.add("workers' CPU per delivery", round(cpu / size * 1000, 2), "ms")
    result.add(
        "most requests in flight to one endpoint",
        stats.get("max_concurrent_per_endpoint", 0),
        target=Target("<=", 2, text="≤ 2 (WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT)"),
    )
    result.add(
        "distinct webhook-ids received",
        stats["distinct_request_ids"].get("webhook", 0),
        target=Target("==", size, text=f"= {size:,}"),
    )
    result.add("requests received", stats["requests"].get("webhook", 0))
    result.add("time from the commit to the last delivery", round(wall, 2), "s")
    result.raw.update({"events": size, "endpoints": endpoints, "wall_seconds": wall,
                       "worker_cpu_seconds": cpu, "stub": stats,
                       "workers": [w.description for w in workers]})  # fmt: skip
    result.notes.append(
        f"{len(workers)} × {workers[0].description}; {env.database_kind}; broker "
        f"{env.broker_url.split('://')[0]}; receivers answer after {args.delay_ms:g} ms; "
        "each event belongs to one school, whose one endpoint receives it"
    )
