"""Workers stop cleanly and quickly: SIGTERM, and `make run`'s Ctrl-C through honcho."""

import os
import re
import signal
import subprocess
import threading
import time

import pytest

from market.tasks import ping
from tenants.models import Operation
from tests.support.smtp_server import free_port
from tests.support.stub_vendor import hang
from tests.support.worker import ROOT, WorkerProcess, database_url_of_test_db, wait_until

pytestmark = pytest.mark.worker

# honcho SIGKILLs whatever still runs 5 s after the first of its processes stopped.
HONCHO_KILL_WAIT = 5
ERROR_LINES = re.compile(r"ERROR|CRITICAL|exited with|Traceback|SIGKILL")


def started(workers, **options) -> WorkerProcess:
    worker = WorkerProcess(**options)
    workers.started.append(worker)
    return worker.start()


def sigterm_and_wait(worker: WorkerProcess, *, timeout: float) -> tuple[int, float]:
    begun = time.monotonic()
    os.kill(worker.process.pid, signal.SIGTERM)
    returncode = worker.process.wait(timeout=timeout)
    return returncode, time.monotonic() - begun


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_an_idle_worker_stops_within_seconds_of_sigterm_and_keeps_its_delayed_tasks(
    transactional_db, workers, broker, pool
):
    """An idle worker is stopped with SIGTERM.

    Fault: SIGTERM to a worker (prefork, then threads) holding two tasks scheduled for later
    (as a retry's countdown is).
    Expected: a warm shutdown that ends within 5 s (honcho's limit) with exit status 0 and no
    error line; the two delayed tasks are back in the broker, not lost.
    Vendor effects: none.
    """
    broker.lose_everything()  # what earlier tests left behind
    worker = started(workers, pool=pool)
    for _ in range(2):
        ping.apply_async(("later",), countdown=600)
    # The readiness ping (received, succeeded), then the two delayed ones, held by the worker.
    wait_until(lambda: worker.log_text().count("market.ping") >= 4, timeout=15)

    returncode, took = sigterm_and_wait(worker, timeout=30)

    assert returncode == 0
    assert took < HONCHO_KILL_WAIT, f"the warm shutdown took {took:.1f} s"
    assert not ERROR_LINES.findall(worker.log_text()), worker.log_text()[-2000:]
    wait_until(
        lambda: broker.queued() == 2,
        timeout=10,
        message=f"delayed tasks lost: {broker.queued()} of 2 back",
    )


def test_a_warm_shutdown_finishes_the_call_in_flight_then_stops(service, stub, workers, subscribe):
    """SIGTERM while a lifecycle call is in flight.

    Fault: SIGTERM to the worker while the vendor is still answering an activate (it takes 3 s).
    Expected: the worker finishes that call and records its answer (tenant active, operation
    succeeded), then stops with exit status 0, within 5 s of the answer, with no error line.
    Vendor effects: 1 activate request.
    """
    stub.script("activate", hang(3, then_normal=True))
    worker = started(workers)
    subscription = subscribe(service, slug="stopped_mid_call")
    stub.wait_for_requests("activate", 1)

    returncode, took = sigterm_and_wait(worker, timeout=30)

    assert returncode == 0
    assert took < 3 + HONCHO_KILL_WAIT, f"the warm shutdown took {took:.1f} s"
    operation = Operation.objects.get(subscription=subscription)
    assert operation.state == Operation.State.SUCCEEDED
    assert len(stub.requests_to("activate")) == 1
    assert not ERROR_LINES.findall(worker.log_text()), worker.log_text()[-2000:]


def test_ctrl_c_of_make_run_stops_every_process_without_sigkill_or_errors(
    transactional_db, tmp_path
):
    """Ctrl-C in `make run`.

    Fault: SIGINT to honcho's process group (what a terminal's Ctrl-C sends) while the
    Procfile's vendor, LTI tool, web server, worker and beat run (ports moved to free ones).
    Expected: honcho sends SIGTERM once; every process stops by itself within honcho's 5 s,
    worker and beat with exit status 0; no SIGKILL, no error line (no "ForkPoolWorker exited
    with signal 15").
    Vendor effects: none.
    """
    procfile = (ROOT / "Procfile").read_text()
    procfile = procfile.replace("9001", str(free_port()))
    procfile = procfile.replace("9002", str(free_port()))
    procfile = procfile.replace("var/reference_lti_tool.json", str(tmp_path / "lti_tool.json"))
    procfile = procfile.replace("127.0.0.1:8000", f"127.0.0.1:{free_port()}")
    (tmp_path / "Procfile").write_text(procfile)
    honcho = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            str(ROOT / ".venv/bin/honcho"),
            "start",
            "-f",
            str(tmp_path / "Procfile"),
            "-d",
            str(ROOT),
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url_of_test_db()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(honcho.stdout), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: (
                any(" ready." in line for line in lines)
                and any("beat: stops between ticks" in line for line in lines)
                and any("development server" in line for line in lines)
            ),
            timeout=60,
            message="the Procfile's processes did not start",
        )
        os.killpg(honcho.pid, signal.SIGINT)
        honcho.wait(timeout=30)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    reader.join(timeout=5)
    output = "".join(lines)

    assert "SIGKILL" not in output, output[-3000:]
    assert output.count("sending SIGTERM") == 5
    for name in ("vendor", "lti-tool", "web", "worker", "beat"):
        assert re.search(rf"{name}\.1 stopped \(rc=", output), f"{name} did not stop"
    assert "worker.1 stopped (rc=0)" in output and "beat.1 stopped (rc=0)" in output
    errors = [line for line in lines if ERROR_LINES.search(line)]
    assert errors == [], errors


class SlowTickScheduler:
    """A beat scheduler whose tick takes 0.6 s (a slow database), recording what happened."""

    events: list[str] = []

    def __init__(self, *args, **kwargs):
        self.max_interval = 1

    def tick(self):
        SlowTickScheduler.events.append("tick started")
        time.sleep(0.6)
        SlowTickScheduler.events.append("tick finished")
        return 1.0

    def should_sync(self):
        return False

    def close(self):
        SlowTickScheduler.events.append("schedule saved")


def test_beat_stopped_in_the_middle_of_a_tick_finishes_it_then_saves_and_stops(db):
    """SIGTERM to beat in the middle of a tick.

    Fault: SIGTERM arrives while beat's scheduler is inside a tick (a database read).
    Expected: the tick finishes, then the schedule is saved once and beat stops, within the
    tick's own time; nothing runs the save from inside the signal handler.
    Vendor effects: none.
    """
    from celery import beat
    from celery.apps.beat import Beat

    from market.celery import app

    SlowTickScheduler.events = []
    service = beat.Service(app=app, scheduler_cls=SlowTickScheduler)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    Beat(app=app, quiet=True).install_sync_handler(service)  # as `celery beat` does
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    begun = time.monotonic()
    try:
        service.start()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    assert SlowTickScheduler.events == ["tick started", "tick finished", "schedule saved"]
    assert time.monotonic() - begun < 2
