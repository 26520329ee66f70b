"""Where a benchmark runs: its folder, database, broker and Celery workers.

Everything a benchmark writes lives under ``var/bench/`` (or ``$MARKET_VAR_DIR``). Each
benchmark gets a throwaway database: a fresh SQLite file there, or on PostgreSQL a database of
its own (``bench_market_<name>``) that it creates and drops. The broker is Redis database 9
(``BENCH_REDIS_DB`` to choose another) on 127.0.0.1 when Redis answers (flushed before use),
else the filesystem broker in the benchmark's folder (always, with ``BENCH_BROKER=filesystem``). Settings are read once per
process, so ``prepare`` runs before Django is set up, and each benchmark runs in a process of
its own. Workers and the benchmark run with DEBUG off, as in production.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Child, Children, PeerError

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# The broker's database; set BENCH_REDIS_DB to run two benchmarks at once without one flushing
# the other's queue.
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))


@dataclass
class Environment:
    name: str
    var_dir: Path
    work_dir: Path
    database_url: str
    database_kind: str  # "sqlite" | "postgresql"
    broker_url: str
    notes: list[str]


def _fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def var_dir() -> Path:
    return Path(os.environ.get("MARKET_VAR_DIR", ROOT / "var" / "bench"))


def _redis_answers() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_flush() -> None:
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as sock:
        sock.sendall(f"SELECT {REDIS_DB}\r\nFLUSHDB\r\n".encode())
        time.sleep(0.05)
        sock.recv(64)


def _postgres_database(name: str, children: Children) -> str | None:
    """Create an empty database of our own; its URL, or None when PostgreSQL is unreachable."""
    try:
        import psycopg
    except ImportError:
        return None
    database = f"bench_market_{name}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.Error:
        return None

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    children.on_exit(drop)
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def prepare(name: str, *, children: Children, database: str = "sqlite", **extra_env) -> Environment:
    """Set this process's environment for benchmark ``name`` (before ``django.setup()``).

    ``database`` is ``"sqlite"`` or ``"postgresql"`` (falls back to SQLite, with a note, when
    PostgreSQL is unreachable). ``extra_env`` adds settings (e.g. ``PROBE_TOTAL_TIMEOUT_MS``)
    that the workers inherit too.
    """
    notes: list[str] = []
    base = var_dir()
    work = base / name
    work.mkdir(parents=True, exist_ok=True)
    url = None
    if database == "postgresql":
        url = _postgres_database(name, children)
        if url is None:
            notes.append("PostgreSQL at 127.0.0.1:5432 is unreachable: ran on SQLite instead")
    kind = "postgresql" if url else "sqlite"
    if url is None:
        path = work / "market.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    # BENCH_BROKER=filesystem keeps Redis out of it (the tests use it: db 9 is the bench's).
    if os.environ.get("BENCH_BROKER") != "filesystem" and _redis_answers():
        _redis_flush()
        broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
        os.environ["CELERY_RESULT_BACKEND"] = broker
    else:
        broker = "filesystem://"
        os.environ["MARKET_BROKER_DIR"] = str(work / "broker")
        os.environ["CELERY_RESULT_BACKEND"] = f"file://{work / 'results'}"
        notes.append("Redis at 127.0.0.1:6379 is unreachable: used the filesystem broker")
    os.environ.update(
        {
            "MARKET_VAR_DIR": str(work),
            "DATABASE_URL": url,
            "CELERY_BROKER_URL": broker,
            # The stubs listen on 127.0.0.1, which the vendor guard refuses unless allowlisted.
            "VENDOR_ALLOWED_PRIVATE_HOSTS": "127.0.0.1:*",
            "VENDOR_HTTP_ALLOWED_HOSTS": "127.0.0.1",
            "EMAIL_BACKEND": "locmem",
            # Production's mode: DEBUG off (no query log, no SQL formatting per query), with
            # throwaway keys. Plain http on loopback, so no redirect to https.
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "FIELD_ENCRYPTION_KEYS": _fernet_key(),
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "market.settings",
            **{key: str(value) for key, value in extra_env.items()},
        }
    )
    return Environment(name, base, work, url, kind, broker, notes)


def setup_django(*, migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


class Worker:
    """A real ``celery worker`` on this benchmark's database and broker."""

    def __init__(self, child: Child, description: str) -> None:
        self.child = child
        self.description = description

    def cpu_seconds(self) -> float:
        """CPU of the worker and its pool processes (prefork children included)."""
        return self.child.cpu_seconds()


def start_worker(
    env: Environment,
    children: Children,
    *,
    pool: str = "prefork",
    concurrency: int | None = None,
    queues: str = "celery,probes",
    name: str = "worker",
    wait: bool = True,
) -> Worker:
    concurrency = concurrency or os.cpu_count() or 2
    argv = [
        sys.executable, "-m", "celery", "-A", "market", "worker",
        "--loglevel", "WARNING", "--queues", queues,
        "--pool", pool, "--concurrency", str(concurrency),
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"bench-{name}-{uuid.uuid4().hex[:6]}@%h",
    ]  # fmt: skip
    child = children.add(Child(name, argv, log_dir=env.work_dir, cwd=ROOT, env=dict(os.environ)))
    worker = Worker(child, f"celery worker, {pool} pool x{concurrency}, queues {queues}")
    if wait:
        wait_ready(worker)
    return worker


def wait_ready(worker: Worker, *, timeout: float = 60) -> None:
    from market.tasks import ping

    token = uuid.uuid4().hex
    result = ping.delay(token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.child.alive():
            break
        with contextlib.suppress(Exception):
            if result.get(timeout=1) == token:
                return
    raise PeerError(f"the celery worker did not answer a ping: {worker.child.log_tail()}")


def wait_for(predicate, *, timeout: float, interval: float = 0.05, what: str):
    """Poll ``predicate`` until truthy; PeerError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise PeerError(f"{what} did not happen within {timeout:g} s")
