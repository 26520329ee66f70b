"""Benchmark: a neighbour's activations while another vendor hangs (the bulkhead).

Two loopback vendor stubs (``bench.loopback vendor``): one answers after ``--delay-ms`` (50), the
other after 60 s, so every call to it is cut at the market's 10 s bound (it hangs). The hanging
vendor has ``--hanging-services`` (2) services with ``--queued`` (200) activations each, sent
at once; the neighbour, another vendor, has one service. One worker with the README's
Production layout (threads, ``--concurrency`` 48, the automatic per-vendor cap: 23) on
PostgreSQL.

First the neighbour's ``--samples`` (20) activations one after another, unloaded: each timed
from the subscription's commit until its tenant is active. Then the hanging vendor's burst,
and once its calls hang, the neighbour's activations again. Figures: p50/p95 of both, and the
loaded p95 against the unloaded p95 plus 2 s (issue 14, point 2).
"""

from __future__ import annotations

import datetime
import sys
import time

from bench import environment
from bench.market_data import API_KEY, SIGNING_SECRET, manifest_text, schools
from bench.procs import Child
from bench.report import Result, Target, median

TITLE = "Bulkhead: a neighbour's activation while another vendor hangs"
BOUND_SECONDS = 2.0


def add_arguments(parser) -> None:
    parser.add_argument("--samples", type=int, default=20, help="neighbour activations (20)")
    parser.add_argument("--queued", type=int, default=200, help="per hanging service (200)")
    parser.add_argument("--hanging-services", type=int, default=2, help="(2)")
    parser.add_argument("--delay-ms", type=float, default=50, help="neighbour's answer (50)")
    parser.add_argument("--concurrency", type=int, default=48, help="worker threads (48)")
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], default="postgresql", help="(postgresql)"
    )


def _stub(children, work_dir, *, name: str, delay_ms: float) -> str:
    argv = [sys.executable, "-m", "bench.loopback", "vendor", "--delay-ms", str(delay_ms)]
    stub = children.add(Child(name, argv, log_dir=work_dir, ready_json=True))
    return f"http://127.0.0.1:{stub.read_ready_json(timeout=30)['ports'][0]}"


def _register(vendor_slug: str, base_url: str, service_ids: list[str]):
    from bench.market_data import bench_vendor
    from services.services import IssuedCredentials, service_register

    vendor = bench_vendor(vendor_slug)
    credentials = IssuedCredentials(api_key=API_KEY, signing_secret=SIGNING_SECRET)
    return [
        service_register(
            vendor=vendor,
            raw_text=manifest_text(base_url=f"{base_url}/v{n}", service_id=service_id),
            credentials=credentials,
        )[0]
        for n, service_id in enumerate(service_ids)
    ]


def _subscribe(service, organization):
    from tenants.operations.services import subscription_create

    return subscription_create(
        organization=organization, service=service, plan=service.plans.get(code="basic"),
        ends_on=datetime.date.today() + datetime.timedelta(days=365), max_users=100,
        storage_limit_gb=10, admin_email=f"it@{organization.slug}.example", admin_name="IT",
    )  # fmt: skip


def _timed_activations(service, organizations) -> list[float]:
    from tenants.models import Tenant

    times = []
    for organization in organizations:
        started = time.monotonic()
        subscription = _subscribe(service, organization)
        environment.wait_for(
            lambda s=subscription: Tenant.objects.filter(
                pk=s.tenant_id, state=Tenant.State.ACTIVE
            ).exists(),
            timeout=120,
            interval=0.01,
            what=f"the activation of {organization.slug}",
        )
        times.append(time.monotonic() - started)
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(args, result: Result, children, out) -> None:
    env = environment.prepare("bulkhead", children=children, database=args.database)
    result.notes.extend(env.notes)
    calm_url = _stub(children, env.work_dir, name="calm-vendor", delay_ms=args.delay_ms)
    hanging_url = _stub(children, env.work_dir, name="hanging-vendor", delay_ms=60_000)
    environment.setup_django()
    from django.db import transaction

    from tenants.models import Operation

    [calm] = _register("calm", calm_url, ["calm_00"])
    # Registered while answering (registration checks health), then pointed at the stub that
    # hangs on every endpoint: a vendor that went silent after its listing.
    hanging = _register(
        "hanging", calm_url, [f"hang_{n:02d}" for n in range(args.hanging_services)]
    )
    for n, service in enumerate(hanging):
        manifest = service.current_manifest
        manifest.data["endpoints"]["base_url"] = f"{hanging_url}/v{n}"
        manifest.save(update_fields=["data"])
        service.base_url = f"{hanging_url}/v{n}"
        service.save(update_fields=["base_url"])
    total = args.samples * 2 + args.queued * args.hanging_services
    organizations = schools(start=0, count=total)
    quiet_schools = organizations[: args.samples]
    busy_schools = organizations[args.samples : 2 * args.samples]
    burst_schools = organizations[2 * args.samples :]
    worker = environment.start_worker(
        env, children, pool="threads", concurrency=args.concurrency, queues="celery"
    )
    unloaded = _timed_activations(calm, quiet_schools)
    out.write(f"  unloaded: p50 {median(unloaded):.3f} s, p95 {_p95(unloaded):.3f} s\n")
    with transaction.atomic():
        for n, organization in enumerate(burst_schools):
            _subscribe(hanging[n % len(hanging)], organization)
    in_flight = Operation.objects.filter(
        tenant__service__vendor__slug="hanging", state=Operation.State.IN_FLIGHT
    )
    environment.wait_for(
        lambda: in_flight.count() >= 1, timeout=60, what="the hanging vendor's first calls"
    )
    time.sleep(2)  # the burst's messages are read and park (the known one-time cost)
    held = in_flight.count()
    loaded = _timed_activations(calm, busy_schools)
    held_after = in_flight.count()
    out.write(f"  loaded:   p50 {median(loaded):.3f} s, p95 {_p95(loaded):.3f} s\n")
    result.add("neighbour activation p50, unloaded", round(median(unloaded), 3), "s")
    result.add("neighbour activation p95, unloaded", round(_p95(unloaded), 3), "s")
    result.add("neighbour activation p50, another vendor hanging", round(median(loaded), 3), "s")
    bound = _p95(unloaded) + BOUND_SECONDS
    result.add(
        "neighbour activation p95, another vendor hanging",
        round(_p95(loaded), 3),
        "s",
        target=Target("<=", round(bound, 3), text=f"≤ {bound:.2f} s (unloaded p95 + 2 s)"),
    )
    result.add("hanging vendor's calls in flight (before, after)", f"{held}, {held_after}")
    result.raw.update({"unloaded": unloaded, "loaded": loaded, "worker": worker.description})
    result.notes.append(
        f"{worker.description}; {env.database_kind}; {args.hanging_services} hanging services × "
        f"{args.queued} activations (calls cut at 10 s); neighbour answers after "
        f"{args.delay_ms:g} ms; {args.samples} sequential activations each"
    )
