"""Child processes of a benchmark: start, wait until ready, measure CPU, always stop.

Every child is started in this benchmark's process group (the ``make bench`` runner starts
each benchmark as a group of its own and kills that group when the benchmark ends, whatever
happened). ``Child.stop`` ends the child and every descendant it left, by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class PeerError(RuntimeError):
    """A peer, stub, worker or database could not be started; the message says why."""


# --- /proc ----------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name may hold spaces and parentheses: split after the last ")".
    return text[text.rfind(")") + 2 :].split()


def _parent_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children, their children, ...)."""
    tree = _parent_map()
    found, stack = [], list(tree.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(tree.get(child, []))
    return found


def process_cpu_seconds(pid: int, *, with_reaped_children: bool = True) -> float:
    """utime + stime of one process (all its threads), plus its reaped children's if asked."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


class DatabaseCpu:
    """CPU of the PostgreSQL server spent on one database, read from /proc while it runs.

    Django opens a connection per task here (``conn_max_age=0``), so backends come and go; a
    thread samples every ``interval`` seconds the backends whose title names ``database``
    (``postgres: user db 127.0.0.1(port) ...``) and keeps each one's latest utime + stime. A
    backend's last moments before it exits are missed (at most ``interval`` of CPU each), so
    the figure is a slight undercount. ``server_seconds`` is the whole server's CPU (the
    postmaster's reaped children included): an upper bound, other databases' work included.
    """

    def __init__(self, database: str, *, interval: float = 0.05) -> None:
        import threading

        self.database = database
        self.interval = interval
        self._seen: dict[int, float] = {}
        self._base: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server_before = 0.0
        self.seconds = 0.0
        self.server_seconds = 0.0

    @staticmethod
    def _postgres_pids() -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                fields = _stat_fields(int(entry))
                if fields is not None and Path(f"/proc/{entry}/comm").exists():
                    with contextlib.suppress(OSError):
                        if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                            pids.append(int(entry))
        return pids

    def _backends(self) -> dict[int, float]:
        found = {}
        for pid in self._postgres_pids():
            with contextlib.suppress(OSError):
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                if f" {self.database} " in f" {title} ":
                    found[pid] = process_cpu_seconds(pid, with_reaped_children=False)
        return found

    def _server(self) -> float:
        return sum(process_cpu_seconds(pid) for pid in self._postgres_pids())

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, seconds in self._backends().items():
                self._seen[pid] = seconds
            self._stop.wait(self.interval)

    def __enter__(self) -> DatabaseCpu:
        self._base = self._backends()
        self._seen = dict(self._base)
        self._server_before = self._server()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid, seconds in self._backends().items():
            self._seen[pid] = seconds
        self.seconds = sum(s - self._base.get(pid, 0.0) for pid, s in self._seen.items())
        self.server_seconds = self._server() - self._server_before


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its living descendants (and the ones they reaped)."""
    return process_cpu_seconds(pid) + sum(process_cpu_seconds(p) for p in descendants(pid))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_file_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- children -------------------------------------------------------------------------------


class Child:
    """One child process with its log file; ``stop`` ends it and all its descendants."""

    def __init__(self, name: str, argv: list[str], *, log_dir: Path, env=None, cwd=None,
                 ready_json: bool = False) -> None:  # fmt: skip
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        log_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv built by the benchmark
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if ready_json else self._log,
                stderr=self._log,
            )
        except OSError as exc:
            self._log.close()
            raise PeerError(f"{name} could not be started ({exc})") from exc

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def read_ready_json(self, *, timeout: float) -> dict:
        """The JSON line the child prints once it is ready; PeerError if none comes in time."""
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
            elif not self.alive():
                break
        try:
            return json.loads(line)
        except ValueError:
            raise PeerError(
                f"{self.name} did not become ready within {timeout:g} s "
                f"(exit code {self.process.poll()}): {self.log_tail()}"
            ) from None

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 8) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").strip().splitlines()
            return " | ".join(text[-lines:]) or "(empty log)"
        return "(no log)"

    def stop(self, *, signum: int = signal.SIGTERM, grace: float = 5.0) -> None:
        """Signal the child, wait up to ``grace`` s, then SIGKILL it and whatever it left."""
        if self.alive():
            family = descendants(self.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
            for pid in [self.pid, *family, *descendants(self.pid)]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


class Children:
    """The children of one benchmark; leaving the ``with`` block stops them, newest first."""

    def __init__(self) -> None:
        self._children: list[Child] = []
        self._cleanups: list = []

    def add(self, child: Child) -> Child:
        self._children.append(child)
        return child

    def on_exit(self, cleanup) -> None:
        """Run ``cleanup()`` when leaving (after the children are stopped), e.g. drop a DB."""
        self._cleanups.append(cleanup)

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc_info) -> None:
        for child in reversed(self._children):
            with contextlib.suppress(Exception):
                child.stop()
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                cleanup()


@contextlib.contextmanager
def terminate_as_exception() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt, so ``finally`` blocks stop the children."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
