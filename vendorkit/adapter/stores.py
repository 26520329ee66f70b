"""Where the adapter keeps its answers by request id (docs/standard/README.md section 5).

A store has three operations, and "look up, act, store" is atomic across every process that
shares it because ``claim`` is one atomic insert:

- ``claim(key, fingerprint, ttl)`` → ``None`` when this caller may act (the key is now held),
  or the ``Claim`` already there (an answer, or someone else still acting);
- ``complete(key, status, body)`` stores the answer for ``ttl`` seconds;
- ``release(key)`` forgets a claim whose attempt failed (5xx), so the market's retry acts.

Three stores ship: ``MemoryStore`` (tests, one process), ``SQLStore`` (any DB-API database:
sqlite3, psycopg, ...; the vendor's own database) and ``RedisStore`` (a ``redis.Redis`` client).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

DEFAULT_TTL_SECONDS = 72 * 3600 + 3600  # the market retries for 72 hours; one hour to spare
STALE_CLAIM_SECONDS = 120  # a claim with no answer after this long is taken over (crashed worker)
SWEEP_EVERY_CLAIMS = 500  # expired answers of other request ids are deleted this often


@dataclass(frozen=True)
class Claim:
    fingerprint: str
    status: int | None  # None while the first attempt is still acting
    body: bytes = b""


class IdempotencyStore(Protocol):
    def claim(self, key: str, *, fingerprint: str, ttl: float) -> Claim | None: ...

    def complete(self, key: str, *, status: int, body: bytes, ttl: float) -> None: ...

    def release(self, key: str) -> None: ...


class MemoryStore:
    """A dict under a lock: for tests and single-process development only."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[Claim, float, float]] = {}  # claim, expires, claimed_at
        self.clock = clock
        self._claims = 0

    def claim(self, key: str, *, fingerprint: str, ttl: float) -> Claim | None:
        now = self.clock()
        with self._lock:
            self._claims += 1
            if self._claims % SWEEP_EVERY_CLAIMS == 0:
                for old in [k for k, (_, expires, _) in self._items.items() if expires <= now]:
                    del self._items[old]
            held = self._items.get(key)
            if held is not None:
                claim, expires, claimed_at = held
                stale = claim.status is None and now - claimed_at > STALE_CLAIM_SECONDS
                if now < expires and not stale:
                    return claim
            self._items[key] = (Claim(fingerprint, None), now + ttl, now)
            return None

    def complete(self, key: str, *, status: int, body: bytes, ttl: float) -> None:
        now = self.clock()
        with self._lock:
            fingerprint = self._items[key][0].fingerprint if key in self._items else ""
            self._items[key] = (Claim(fingerprint, status, body), now + ttl, now)

    def release(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class SQLStore:
    """Answers in a table of the vendor's own database, through plain DB-API 2.0.

    ``connect`` returns a new connection (one per call; pass a pool's ``getconn`` if you have
    one). ``placeholder`` is the driver's parameter marker: ``?`` for sqlite3, ``%s`` for
    psycopg. The table is created on first use (``INSERT ... ON CONFLICT DO NOTHING`` needs
    SQLite >= 3.24 or PostgreSQL >= 9.5)::

        SQLStore(connect=lambda: sqlite3.connect("vendor.sqlite3", timeout=10))
    """

    def __init__(
        self,
        *,
        connect: Callable[[], Any],
        placeholder: str = "?",
        table: str = "vendorkit_idempotency",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError("table must be a plain identifier")
        self.connect = connect
        self.p = placeholder
        self.table = table
        self.clock = clock
        self._ready = False
        self._claims = 0

    def _ensure_table(self, connection: Any) -> None:
        if self._ready:
            return
        try:
            connection.cursor().execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("  # noqa: S608 (checked identifier)
                "request_key VARCHAR(300) PRIMARY KEY, fingerprint VARCHAR(100) NOT NULL, "
                "status INTEGER, body TEXT, expires_at DOUBLE PRECISION NOT NULL, "
                "claimed_at DOUBLE PRECISION NOT NULL)"
            )
            connection.commit()
        except Exception:
            # Another process created it at the same moment (PostgreSQL then reports a
            # duplicate type); anything else shows up in the statement that follows.
            connection.rollback()
        self._ready = True

    def _run(self, work: Callable[[Any], Any]) -> Any:
        connection = self.connect()
        try:
            self._ensure_table(connection)
            result = work(connection.cursor())
            connection.commit()
            return result
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def claim(self, key: str, *, fingerprint: str, ttl: float) -> Claim | None:
        now = self.clock()
        p, table = self.p, self.table

        self._claims += 1
        sweep = self._claims % SWEEP_EVERY_CLAIMS == 0

        def work(cursor: Any) -> Claim | None:
            if sweep:  # answers past their time, whatever their key
                cursor.execute(f"DELETE FROM {table} WHERE expires_at < {p}", (now,))  # noqa: S608
            # An expired answer or an abandoned claim no longer holds the key.
            cursor.execute(
                f"DELETE FROM {table} WHERE request_key = {p} AND (expires_at < {p} OR "  # noqa: S608
                f"(status IS NULL AND claimed_at < {p}))",
                (key, now, now - STALE_CLAIM_SECONDS),
            )
            cursor.execute(
                f"INSERT INTO {table} (request_key, fingerprint, status, body, expires_at, claimed_at) "  # noqa: S608
                f"VALUES ({p}, {p}, NULL, NULL, {p}, {p}) ON CONFLICT (request_key) DO NOTHING",
                (key, fingerprint, now + ttl, now),
            )
            if cursor.rowcount == 1:
                return None
            cursor.execute(
                f"SELECT fingerprint, status, body FROM {table} WHERE request_key = {p}",  # noqa: S608
                (key,),
            )
            row = cursor.fetchone()
            if row is None:  # released between our insert and select: try again later
                return Claim(fingerprint, None)
            return Claim(row[0], row[1], (row[2] or "").encode("utf-8"))

        return self._run(work)

    def complete(self, key: str, *, status: int, body: bytes, ttl: float) -> None:
        p = self.p

        def work(cursor: Any) -> None:
            cursor.execute(
                f"UPDATE {self.table} SET status = {p}, body = {p}, expires_at = {p} "  # noqa: S608
                f"WHERE request_key = {p}",
                (status, body.decode("utf-8"), self.clock() + ttl, key),
            )

        self._run(work)

    def release(self, key: str) -> None:
        self._run(
            lambda cursor: cursor.execute(
                f"DELETE FROM {self.table} WHERE request_key = {self.p}",  # noqa: S608
                (key,),
            )
        )


class RedisStore:
    """Answers in Redis (``redis.Redis`` or anything with ``set(nx=, ex=)``, ``get``, ``delete``)."""

    def __init__(self, client: Any, *, prefix: str = "vendorkit:idem:") -> None:
        self.client = client
        self.prefix = prefix

    def claim(self, key: str, *, fingerprint: str, ttl: float) -> Claim | None:
        pending = json.dumps({"f": fingerprint, "s": None})
        if self.client.set(self.prefix + key, pending, nx=True, ex=STALE_CLAIM_SECONDS):
            return None
        raw = self.client.get(self.prefix + key)
        if raw is None:  # expired or released in between
            return Claim(fingerprint, None)
        held = json.loads(raw)
        return Claim(held["f"], held["s"], held.get("b", "").encode("utf-8"))

    def complete(self, key: str, *, status: int, body: bytes, ttl: float) -> None:
        raw = self.client.get(self.prefix + key)
        fingerprint = json.loads(raw)["f"] if raw else ""
        value = json.dumps({"f": fingerprint, "s": status, "b": body.decode("utf-8")})
        self.client.set(self.prefix + key, value, ex=int(ttl))

    def release(self, key: str) -> None:
        self.client.delete(self.prefix + key)
