"""The peer of the health sweep: Prometheus' blackbox exporter, from Debian.

``ensure_installed`` installs ``prometheus-blackbox-exporter`` with apt-get when the binary is
missing (and says so); ``start`` runs it on 127.0.0.1 with a config of one module, ``http_2xx``
(prober http, timeout 2 s); ``sweep`` asks it to probe every target through ``/probe``, from a
parallel aiohttp client (the client is not the bottleneck: it keeps ``concurrency`` requests
open on keep-alive connections), and reads the exporter's CPU seconds from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bench.procs import Child, PeerError, free_port, process_cpu_seconds

DEBIAN_BINARY = Path("/usr/bin/prometheus-blackbox-exporter")
# Another binary (a newer release, or a broken one to test the "peer cannot start" path).
BINARY = Path(os.environ.get("BENCH_EXPORTER_BINARY") or DEBIAN_BINARY)
PACKAGE = "prometheus-blackbox-exporter"
MODULE = "http_2xx"
TIMEOUT_SECONDS = 2
CONFIG = f"""\
# Written by the benchmark (bench/exporter.py): one HTTP module, as the issue asks.
modules:
  {MODULE}:
    prober: http
    timeout: {TIMEOUT_SECONDS}s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
"""


def _apt(*args: str, out) -> bool:
    command = [shutil.which("apt-get") or "apt-get", *args]
    out.write(f"  $ {' '.join(command)}\n")
    out.flush()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    finished = subprocess.run(  # noqa: S603 - fixed argv
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if finished.returncode != 0:
        out.write("    " + (finished.stderr.strip().splitlines() or ["(no output)"])[-1] + "\n")
    return finished.returncode == 0


def _stop_system_service(out) -> None:
    """On a systemd host the package starts its own service on :9115; the benchmark wants none."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return
    subprocess.run(  # noqa: S603 - fixed argv
        [shutil.which("systemctl"), "disable", "--now", PACKAGE],
        capture_output=True,
        check=False,
        timeout=60,
    )
    out.write(f"  stopped and disabled the system service {PACKAGE} that the package started\n")


def ensure_installed(out=sys.stdout) -> Path:
    """The exporter's binary; installs the Debian package first when it is missing."""
    if BINARY.exists():
        return BINARY
    if BINARY != DEBIAN_BINARY:
        raise PeerError(f"the exporter binary {BINARY} (BENCH_EXPORTER_BINARY) does not exist")
    out.write(f"{BINARY} is missing: installing the Debian package {PACKAGE}\n")
    if os.geteuid() != 0:
        raise PeerError(f"{PACKAGE} is not installed and this user cannot install it (not root)")
    if shutil.which("apt-get") is None:
        raise PeerError(f"{PACKAGE} is not installed and there is no apt-get to install it")
    installed = _apt("install", "-y", "-q", PACKAGE, out=out) or (
        _apt("update", "-q", out=out) and _apt("install", "-y", "-q", PACKAGE, out=out)
    )
    if not installed:
        raise PeerError(f"apt-get could not install {PACKAGE} (see the lines above)")
    _stop_system_service(out)
    if not BINARY.exists():
        raise PeerError(f"{PACKAGE} was installed but {BINARY} is still missing")
    out.write(f"installed {PACKAGE}\n")
    return BINARY


class Exporter:
    """A running blackbox exporter on 127.0.0.1:<free port>."""

    def __init__(self, child: Child, port: int) -> None:
        self.child = child
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self.child.pid

    def cpu_seconds(self) -> float:
        # The exporter starts no processes; its threads are all counted in its own stat line.
        return process_cpu_seconds(self.pid)

    def version(self) -> str:
        finished = subprocess.run(  # noqa: S603 - fixed argv
            [str(BINARY), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        first = (finished.stdout or finished.stderr).strip().splitlines()
        return first[0] if first else "unknown version"


def start(*, work_dir: Path, out=sys.stdout) -> Exporter:
    binary = ensure_installed(out)
    config = work_dir / "blackbox.yml"
    work_dir.mkdir(parents=True, exist_ok=True)
    config.write_text(CONFIG)
    port = free_port()
    child = Child(
        "blackbox-exporter",
        [
            str(binary),
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        log_dir=work_dir,
    )
    exporter = Exporter(child, port)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not child.alive():
            break
        try:
            with urllib.request.urlopen(f"{exporter.base_url}/metrics", timeout=2):  # noqa: S310
                return exporter
        except OSError:
            time.sleep(0.1)
    tail = child.log_tail()
    child.stop()
    raise PeerError(f"the blackbox exporter did not start on 127.0.0.1:{port}: {tail}")


@dataclass(frozen=True)
class ExporterSweep:
    wall: float
    cpu: float
    probes: int
    failed: int  # probe_success 0
    errors: int  # the exporter itself did not answer 200 with a probe_success line


def _probe_success(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("probe_success "):
            return int(float(line.split()[1]))
    return None


async def _drive(base_url: str, targets: list[str], concurrency: int) -> list[int | None]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS + 30)
    semaphore = asyncio.Semaphore(concurrency)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(target: str) -> int | None:
            url = f"{base_url}/probe?module={MODULE}&target={quote(target, safe='')}"
            async with semaphore:
                try:
                    async with session.get(url) as response:
                        text = await response.text()
                        return _probe_success(text) if response.status == 200 else None
                except (aiohttp.ClientError, TimeoutError):
                    return None

        return list(await asyncio.gather(*(one(target) for target in targets)))


def sweep(exporter: Exporter, targets: list[str], *, concurrency: int = 1000) -> ExporterSweep:
    """Probe every target once through the exporter; wall and the exporter's CPU seconds."""
    cpu_before = exporter.cpu_seconds()
    started = time.perf_counter()
    results = asyncio.run(_drive(exporter.base_url, targets, concurrency))
    wall = time.perf_counter() - started
    cpu = exporter.cpu_seconds() - cpu_before
    return ExporterSweep(
        wall=wall,
        cpu=cpu,
        probes=len(results),
        failed=sum(1 for r in results if r == 0),
        errors=sum(1 for r in results if r is None),
    )
