"""A real Celery worker process for integration tests, sharing the test database."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url_of_test_db() -> str:
    """The DATABASE_URL that points a child process at the database the tests use."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class WorkerProcess:
    """Starts `celery worker` as a child process; stop() ends it, kill() SIGKILLs it."""

    def __init__(
        self,
        *,
        queues: str = "celery,probes",
        concurrency: int = 2,
        extra_env=None,
        pool: str = "prefork",
    ):
        self.queues = queues
        self.concurrency = concurrency
        self.pool = pool
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = Path(settings.VAR_DIR) / f"worker-{uuid.uuid4().hex[:8]}.log"

    def start(self, *, wait: bool = True) -> "WorkerProcess":
        env = {**os.environ, "DATABASE_URL": database_url_of_test_db(), **self.extra_env}
        command = [
            sys.executable, "-m", "celery", "-A", "market", "worker",
            "--loglevel", "INFO", "--queues", self.queues,
            "--concurrency", str(self.concurrency), "--pool", self.pool,
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        from market.tasks import ping

        token = uuid.uuid4().hex
        result = ping.delay(token)
        assert result.get(timeout=timeout) == token, "the worker did not answer a ping"

    def stop(self) -> None:
        """Cold shutdown (SIGQUIT): tests need no graceful drain, and a warm one takes seconds."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGQUIT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # pool children left behind, if any
            self.process.wait()
        self.log.close()

    def kill(self) -> None:
        """SIGKILL the worker and all its pool children at once, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.2, message: str = ""):
    """Poll predicate() until it returns something truthy; fail with message after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout} s")
