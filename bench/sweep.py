"""Benchmark 1: our health sweep against Prometheus' blackbox exporter, on the same endpoints.

Stubs: ``--size`` health endpoints on ``--ports`` loopback ports in a process of their own
(``bench.loopback health``): each answers after ``--delay-ms`` (50), every hundredth never
answers (``--hang-percent`` 1), keep-alive with TCP_NODELAY.

Ours, end to end: the beat entry's task ``monitoring.health_sweep`` sent to a real Celery
worker (prefork, one process per core, like the README's probe worker) on a throwaway
PostgreSQL database (``--database sqlite``: a SQLite file under ``var/bench/``, labelled as
not the production database) with ``--size`` listed services. The task plans the sweep and
sends its chunks to the probes queue; each chunk claims, probes and records its services
(state, hourly rollups, incidents). Arguments: ``spread_seconds=0`` (the beat spreads chunks
over 40 s to smooth the load; here the sweep runs as fast as it can, as the exporter does) and
``chunk_size`` = size / worker processes (one chunk per process: a chunk's wall time has the
2 s timeout of its hanging endpoints as a floor, so fewer, larger chunks overlap those waits).
The worker runs with ``PROBE_TOTAL_TIMEOUT_MS=2000``, the exporter module's timeout. Wall: from
sending the task until the sweep's ``SweepRun.finished_at``. CPU: utime + stime of the worker
and its pool processes (``/proc``), before and after; the database server's CPU beside it (the
backends of the benchmark's database, sampled from ``/proc``). ``--beat-args``: the task is
sent as the beat sends it (chunk size and spread from the settings) instead. Correct: exactly the hanging endpoints'
services have ``health = unhealthy`` after each round, all others ``healthy``.

The exporter: ``bench.exporter`` (module ``http_2xx``, prober http, timeout 2 s), driven by an
aiohttp client with ``--exporter-concurrency`` probes open at once. Wall: first request to last
answer. CPU: the exporter process's utime + stime. Correct: ``probe_success 0`` for exactly the
hanging endpoints.

Rounds alternate (ours, exporter, then exporter, ours, ...); the figures are medians.
"""

from __future__ import annotations

import math
import os
import sys
import time
from datetime import timedelta

from bench import environment, exporter
from bench.loopback import base_url, hangs, health_url
from bench.procs import Child, DatabaseCpu, raise_file_limit
from bench.report import Result, Target, median

TITLE = "Health sweep vs. Prometheus blackbox exporter"
WALL_RATIO_TARGET = 0.75
CPU_RATIO_TARGET = 0.35
TOTAL_CPU_RATIO_TARGET = 0.5  # worker + database server, against the exporter's CPU
BEAT_WALL_TARGET = 40.0  # the beat's own sweep ends with at least 20 s of its minute to spare
TIMEOUT_MS = exporter.TIMEOUT_SECONDS * 1000


def default_rounds(size: int) -> int:
    return 3 if size <= 1000 else 2


def add_arguments(parser) -> None:
    parser.add_argument("--size", type=int, default=1000, help="health endpoints (1000)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of each (3; 2 above 1000)")
    parser.add_argument("--delay-ms", type=float, default=50, help="answer delay (50)")
    parser.add_argument("--hang-percent", type=float, default=1, help="never answer (1)")
    parser.add_argument("--ports", type=int, default=8, help="loopback ports of the stubs (8)")
    parser.add_argument(
        "--processes", type=int, default=None, help="worker pool processes (one per core)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=None, help="services per chunk (size / processes)"
    )
    parser.add_argument(
        "--probe-concurrency",
        type=int,
        default=None,
        help="PROBE_CONCURRENCY of each worker process (exporter concurrency / processes)",
    )
    parser.add_argument(
        "--exporter-concurrency",
        type=int,
        default=200,
        help="exporter probes open at once (200, the peer's in flight)",
    )
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], default="postgresql", help="(postgresql)"
    )
    parser.add_argument(
        "--beat-args",
        action="store_true",
        help="send the task as the beat does (chunk size and spread from the settings)",
    )
    parser.add_argument(
        "--no-exporter", action="store_true", help="measure ours only (no ratios, no targets)"
    )


def start_stubs(args, children, work_dir) -> tuple[Child, list[int]]:
    argv = [sys.executable, "-m", "bench.loopback", "health", "--ports", str(args.ports),
            "--delay-ms", str(args.delay_ms), "--hang-percent", str(args.hang_percent)]  # fmt: skip
    stubs = children.add(Child("health-stubs", argv, log_dir=work_dir, ready_json=True))
    return stubs, stubs.read_ready_json(timeout=30)["ports"]


def _create_services(size: int, ports: list[int]) -> None:
    from services.models import Service, Vendor

    vendor = Vendor.objects.create(name="Bench", slug="bench", contact_email="bench@example.com")
    Service.objects.bulk_create(
        (
            Service(
                vendor=vendor,
                service_id=f"bench_{index}",
                name=f"Bench {index}",
                status=Service.Status.LISTED,
                base_url=base_url(ports, index),
            )
            for index in range(size)
        ),
        batch_size=1000,
    )


def _ours(
    worker,
    *,
    size: int,
    chunk_size: int,
    minute_offset: int,
    expected_down: set[str],
    database: str = "",
    beat_args: bool = False,
):
    """One sweep through the worker: wall, CPU, and whether every outcome is right."""
    from django.db.models import Count
    from django.utils import timezone

    from monitoring.health import sweep_minute
    from monitoring.models import SweepRun
    from monitoring.tasks import health_sweep
    from services.models import Service

    # As if a minute had passed since the last round: every service may be probed again.
    Service.objects.update(health_checked_at=None)
    moment = timezone.now() + timedelta(minutes=minute_offset)
    database_cpu = DatabaseCpu(database).__enter__()
    cpu_before = worker.cpu_seconds()
    sent = time.time()
    kwargs = {"now": moment.isoformat()}
    if not beat_args:
        kwargs.update(spread_seconds=0, chunk_size=chunk_size)
    health_sweep.apply_async(kwargs=kwargs)
    run = environment.wait_for(
        lambda: SweepRun.objects.filter(
            minute=sweep_minute(moment), finished_at__isnull=False
        ).first(),
        timeout=120,
        what=f"our sweep of {size:,} services",
    )
    wall = run.finished_at.timestamp() - sent
    time.sleep(0.3)  # the ack and the last log lines, so they count as the sweep's CPU
    cpu = worker.cpu_seconds() - cpu_before
    database_cpu.__exit__(None, None, None)
    down = set(
        Service.objects.filter(health=Service.Health.UNHEALTHY).values_list("service_id", flat=True)
    )
    states = dict(Service.objects.values_list("health").annotate(n=Count("pk")).order_by())
    correct = down == expected_down and states.get("healthy", 0) == size - len(expected_down)
    return {
        "wall": wall,
        "cpu": cpu,
        "database_cpu": database_cpu.seconds if database else 0.0,
        "probes": run.probes,
        "unhealthy": len(down),
        "states": states,
        "correct": correct and run.probes == size,
    }


def _theirs(peer, *, targets: list[str], concurrency: int, expected_down: int):
    driver_before = time.process_time()
    sweep = exporter.sweep(peer, targets, concurrency=concurrency)
    return {
        "driver_cpu": time.process_time() - driver_before,
        "wall": sweep.wall,
        "cpu": sweep.cpu,
        "probes": sweep.probes,
        "unhealthy": sweep.failed,
        "errors": sweep.errors,
        "correct": sweep.failed == expected_down and sweep.errors == 0,
    }


def measure(args, result: Result, children, out) -> None:
    size = args.size
    rounds = args.rounds or default_rounds(size)
    processes = args.processes or os.cpu_count() or 2
    chunk_size = args.chunk_size or math.ceil(size / processes)
    with_ours = not getattr(args, "exporter_only", False)
    with_exporter = not args.no_exporter
    result.title = (
        f"{TITLE}, N = {size:,}"
        if with_ours and with_exporter
        else (
            f"Health sweep (ours only), N = {size:,}"
            if with_ours
            else f"Prometheus blackbox exporter alone, N = {size:,}"
        )
    )
    raise_file_limit()
    # The same number of probes in flight on both sides: the exporter's client keeps
    # ``exporter_concurrency`` requests open; each worker process probes its share at once.
    probe_concurrency = args.probe_concurrency or max(1, args.exporter_concurrency // processes)
    env = environment.prepare(
        f"sweep-{size}",
        children=children,
        database=args.database,
        PROBE_TOTAL_TIMEOUT_MS=TIMEOUT_MS,
        # Degraded must sit below the total budget (refused at start otherwise): half of it.
        PROBE_DEGRADED_AFTER_MS=TIMEOUT_MS // 2,
        PROBE_CONCURRENCY=probe_concurrency,
    )
    database = env.database_url.rsplit("/", 1)[-1] if env.database_kind == "postgresql" else ""
    if args.beat_args:
        from django.conf import settings as django_settings

        chunk_size = django_settings.MONITORING_PROBE_CHUNK_SIZE
        result.title += f" (the beat's arguments: chunks of {chunk_size}, spread " + (
            f"{django_settings.MONITORING_SWEEP_SPREAD_SECONDS} s)"
        )
    if env.database_kind == "sqlite":
        result.title += " [SQLite, not the production database]"
    result.notes.extend(env.notes)
    _stubs, ports = start_stubs(args, children, env.work_dir)
    # The peer first: when it cannot start, nothing else is worth doing.
    peer = None
    if with_exporter:
        peer = exporter.start(work_dir=env.work_dir, out=out)
        children.add(peer.child)
    worker = None
    if with_ours:
        environment.setup_django()
        _create_services(size, ports)
        worker = environment.start_worker(env, children, concurrency=processes)
    expected = {f"bench_{i}" for i in range(size) if hangs(i, args.hang_percent)}
    targets = [health_url(ports, index) for index in range(size)]
    ours, theirs = [], []
    for number in range(rounds):
        order = ("ours", "exporter") if number % 2 == 0 else ("exporter", "ours")
        for side in order:
            if side == "ours" and worker is not None:
                measured = _ours(worker, size=size, chunk_size=chunk_size,
                                 minute_offset=number, expected_down=expected,
                                 database=database, beat_args=args.beat_args)  # fmt: skip
                ours.append(measured)
            elif side == "exporter" and peer is not None:
                measured = _theirs(peer, targets=targets, concurrency=args.exporter_concurrency,
                                   expected_down=len(expected))  # fmt: skip
                theirs.append(measured)
            else:
                continue
            out.write(
                f"  round {number + 1} {side:8}: wall {measured['wall']:6.2f} s, "
                f"CPU {measured['cpu']:6.2f} s, {measured['unhealthy']:,} unhealthy "
                f"({'correct' if measured['correct'] else 'WRONG'})\n"
            )
            out.flush()
    _figures(result, size=size, ours=ours, theirs=theirs, expected=len(expected))
    if ours and database:
        database_cpu = median([m["database_cpu"] for m in ours])
        result.add(f"ours: database CPU (N={size:,})", round(database_cpu, 2), "s")
        their_cpu = median([m["cpu"] for m in theirs]) if theirs else 0.0
        if their_cpu:
            total = median([m["cpu"] + m["database_cpu"] for m in ours])
            result.add(
                f"CPU ours + database / exporter (N={size:,})",
                round(total / their_cpu, 2),
                "×",
                target=Target("<=", TOTAL_CPU_RATIO_TARGET),
            )
    if ours and args.beat_args:
        result.add(
            f"the beat's sweep of {size:,}: sent → finished",
            round(median([m["wall"] for m in ours]), 2),
            "s",
            target=Target("<=", BEAT_WALL_TARGET, text="≤ 40 s (20 s of its minute to spare)"),
        )
    version = peer.version() if peer else None
    result.raw.update(
        {
            "size": size,
            "rounds": rounds,
            "chunk_size": chunk_size,
            "probe_concurrency": probe_concurrency,
            "worker": worker.description if worker else None,
            "exporter": version,
            "exporter_concurrency": args.exporter_concurrency,
            "expected_unhealthy": len(expected),
            "ours": ours,
            "exporter_rounds": theirs,
        }
    )
    if worker is not None:
        result.notes.append(
            f"ours: monitoring.health_sweep through a {worker.description}, chunks of "
            f"{chunk_size:,}, {'the beat' + chr(39) + 's spread' if args.beat_args else 'spread 0 s'}, "
            f"probe timeout {TIMEOUT_MS / 1000:g} s, PROBE_CONCURRENCY {probe_concurrency} per "
            f"process, {env.database_kind}"
            + (
                "; database CPU: this database's backends, sampled from /proc every 50 ms"
                if database
                else ""
            )
        )
    if peer is not None:
        result.notes.append(
            f"exporter: {version}, module {exporter.MODULE} (timeout "
            f"{exporter.TIMEOUT_SECONDS} s), {args.exporter_concurrency} probes open at once"
        )
    result.notes.append(
        f"stubs: {args.delay_ms:g} ms answers, {args.hang_percent:g}% never answer, "
        f"{args.ports} ports, own process; medians of {rounds} alternating rounds"
    )


def _exporter_figures(result: Result, *, size: int, theirs: list) -> tuple[float, float]:
    label = f"N={size:,}"
    their_wall = median([m["wall"] for m in theirs])
    their_cpu = median([m["cpu"] for m in theirs])
    result.add(f"exporter: wall ({label})", round(their_wall, 2), "s")
    result.add(f"exporter: CPU ({label})", round(their_cpu, 2), "s")
    result.add(f"exporter: probes/s ({label})", round(size / their_wall), "/s")
    result.add(
        f"exporter: its client's CPU, not counted ({label})",
        round(median([m["driver_cpu"] for m in theirs]), 2),
        "s",
    )
    result.add(
        f"exporter: probe_success 0, every round ({label})",
        f"{[m['unhealthy'] for m in theirs]}",
        detail="" if all(m["correct"] for m in theirs) else "the exporter misjudged some",
    )
    return their_wall, their_cpu


def _figures(result: Result, *, size: int, ours: list, theirs: list, expected: int) -> None:
    label = f"N={size:,}"
    if not ours:
        _exporter_figures(result, size=size, theirs=theirs)
        return
    ours_wall = median([m["wall"] for m in ours])
    ours_cpu = median([m["cpu"] for m in ours])
    result.add(f"ours: wall ({label})", round(ours_wall, 2), "s")
    result.add(f"ours: CPU ({label})", round(ours_cpu, 2), "s")
    result.add(f"ours: probes/s ({label})", round(size / ours_wall), "/s")
    wrong = [n + 1 for n, m in enumerate(ours) if not m["correct"]]
    result.add(
        f"ours: unhealthy recorded, every round ({label})",
        f"{[m['unhealthy'] for m in ours]}",
        target=Target("==", expected, text=f"= {expected:,} (1%)"),
        passed=not wrong,
        detail=f"wrong in round(s) {wrong}" if wrong else "",
    )
    if not theirs:
        return
    their_wall, their_cpu = _exporter_figures(result, size=size, theirs=theirs)
    result.add(
        f"wall ours / exporter ({label})",
        round(ours_wall / their_wall, 2),
        "×",
        target=Target("<=", WALL_RATIO_TARGET),
    )
    result.add(
        f"CPU ours / exporter ({label})",
        round(ours_cpu / their_cpu, 2) if their_cpu else float("inf"),
        "×",
        target=Target("<=", CPU_RATIO_TARGET),
    )
