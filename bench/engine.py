"""The sweep engine alone, in-process: probe_all and sweep_chunk_run against N loopback stubs.

Two measurements, both with the code the Celery task runs:

1. ``probe only``: the chunks' targets through ``probe_all_sync`` (no database);
2. ``full chunk``: ``health.sweep_chunk_run`` per chunk - claim, probe, record the state with
   ``bulk_update``, the hourly rollups and incidents - against a fresh benchmark database.

Chunks run on ``--workers`` threads at once, as several probe workers would. The stub vendors
run in a separate process, so the CPU seconds printed are the prober's own.

``python -m bench engine --endpoints N`` (or the older ``python -m bench sweep --endpoints N``)
runs it; the benchmark against the blackbox exporter, through a real worker, is
``bench.sweep``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.stubs import serve_in_process, stub_base_url

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0  # the beat interval: a sweep must finish well inside one minute


@dataclass(frozen=True)
class Measurement:
    label: str
    wall: float
    cpu: float
    probes: int
    states: Counter

    @property
    def per_second(self) -> float:
        return self.probes / self.wall if self.wall else float("inf")


def _raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _prepare_environment(args) -> None:
    """Settings for this process only: its own var/ folder and database, loopback allowed."""
    var_dir = Path(os.environ.get("MARKET_VAR_DIR", ROOT / "var" / "bench"))
    os.environ["MARKET_VAR_DIR"] = str(var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        database = var_dir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    # The stubs listen on 127.0.0.1, which the vendor guard refuses unless allowlisted.
    os.environ["VENDOR_ALLOWED_PRIVATE_HOSTS"] = "127.0.0.1:*"
    os.environ["VENDOR_HTTP_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["EMAIL_BACKEND"] = "locmem"
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")


def _start_stubs(args):
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(
        target=serve_in_process,
        args=(child,),
        kwargs={"ports": args.ports, "delay_ms": args.delay_ms, "hang_percent": args.hang_percent},
        daemon=True,
    )
    process.start()
    if not parent.poll(60):
        process.kill()
        raise SystemExit("the stub vendors did not start within 60 s")
    return process, parent, parent.recv()


def _stop_stubs(process, pipe) -> tuple[int, float]:
    """Stop the stub process; return how many requests it answered and its CPU seconds."""
    pipe.send("stop")
    hits = pipe.recv() if pipe.poll(30) else (-1, 0.0)
    process.join(10)
    if process.is_alive():
        process.kill()
    return hits


def _chunks(items: list, size: int) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _measure(label: str, work, chunks: list, workers: int) -> Measurement:
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunk") as pool:
        results = list(pool.map(work, chunks))
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    states: Counter = Counter()
    for result in results:
        states.update(result)
    return Measurement(label, wall, cpu, sum(states.values()), states)


def _probe_only(args, ports: list[int]) -> Measurement:
    from services.vendor_client.probe import ProbeTarget, probe_all_sync

    targets = [
        ProbeTarget(key=index, url=f"{stub_base_url(ports, index)}/mt/health")
        for index in range(args.endpoints)
    ]

    def work(chunk):
        outcomes = probe_all_sync(chunk, **_probe_options(args))
        return Counter(_label(o.state, o.reason) for o in outcomes)

    return _measure("probe only (probe_all)", work, _chunks(targets, args.chunk_size), args.workers)


def _label(state: str, reason: str) -> str:
    """``healthy``, or ``unhealthy (why)`` with the reason cut to its kind."""
    if state != "unhealthy" or not reason:
        return state
    return f"{state} ({reason.split(' after ')[0].split(' within ')[0][:40]})"


def _probe_options(args) -> dict:
    options = {"total_timeout": args.total_timeout}
    if args.concurrency:
        options["concurrency"] = args.concurrency
    return options


def _full_chunks(args, ports: list[int]) -> Measurement:
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count

    from monitoring import health
    from services.models import Service, Vendor

    call_command("migrate", verbosity=0, interactive=False)
    vendor = Vendor.objects.create(name="Bench", slug="bench", contact_email="bench@example.com")
    Service.objects.bulk_create(
        (
            Service(
                vendor=vendor,
                service_id=f"bench_{index}",
                name=f"Bench {index}",
                status=Service.Status.LISTED,
                base_url=stub_base_url(ports, index),
            )
            for index in range(args.endpoints)
        ),
        batch_size=1000,
    )
    plan = health.sweep_plan_create(size=args.chunk_size, spread=0)

    def work(chunk):
        try:
            result = health.sweep_chunk_run(
                service_ids=chunk.service_ids,
                sweep_id=plan.sweep_id,
                probe_options=_probe_options(args),
            )
            return Counter({"probed": result.probed})
        finally:
            connection.close()

    measured = _measure("full chunk (claim, probe, record)", work, plan.chunks, args.workers)
    rows = Service.objects.values_list("health", "health_reason").annotate(n=Count("pk"))
    states = Counter()
    for health_state, reason, count in rows.order_by():
        states[_label(health_state, reason)] += count
    return Measurement(measured.label, measured.wall, measured.cpu, measured.probes, states)


def run(args) -> int:
    _prepare_environment(args)
    _raise_file_limit()
    process, pipe, ports = _start_stubs(args)
    try:
        import django

        django.setup()
        measurements = [_probe_only(args, ports)]
        if not args.no_db:
            measurements.append(_full_chunks(args, ports))
    finally:
        hits = _stop_stubs(process, pipe)
    _report(args, measurements, hits)
    return 0


def _report(args, measurements: list[Measurement], stubs: tuple[int, float]) -> None:
    hits, stub_cpu = stubs
    chunks = -(-args.endpoints // args.chunk_size)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    out = sys.stdout
    out.write(
        f"\nHealth sweep benchmark on {os.cpu_count()} CPUs (load average now {load})\n"
        f"{args.endpoints:,} endpoints on {args.ports} loopback ports, answer delay "
        f"{args.delay_ms:g} ms, {args.hang_percent:g}% never answer\n"
        f"{chunks} chunks of up to {args.chunk_size}, {args.workers} at a time, probe "
        f"concurrency {args.concurrency or 'default'} per chunk, total timeout "
        f"{args.total_timeout:g} s\n\n"
    )
    out.write(f"{'measurement':36} {'wall s':>8} {'CPU s':>8} {'probes/s':>10}\n")
    for m in measurements:
        out.write(f"{m.label:36} {m.wall:8.2f} {m.cpu:8.2f} {m.per_second:10,.0f}\n")
        for state, count in m.states.most_common():
            out.write(f"{'':38}{count:>8,}  {state}\n")
    out.write(
        f"\nstub vendors (another process) answered {hits:,} requests using {stub_cpu:.1f} CPU s\n"
    )
    out.write(f"target: {args.endpoints:,} probes well inside one minute ({TARGET_SECONDS:g} s)\n")
    for m in measurements:
        share = m.cpu / m.wall if m.wall else 1.0
        wall_verdict = "fits" if m.wall < TARGET_SECONDS else "does NOT fit"
        cpu_verdict = "fits" if m.cpu < TARGET_SECONDS else "does NOT fit"
        out.write(
            f"  {m.label}: wall {m.wall:.1f} s back to back - {wall_verdict} "
            f"(the prober got {share:.0%} of a core); CPU {m.cpu:.1f} s per sweep = "
            f"{m.cpu / TARGET_SECONDS:.0%} of one core each minute - {cpu_verdict}\n"
        )
