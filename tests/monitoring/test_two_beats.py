"""Two celery beat processes side by side still give one sweep per minute, not two.

Real processes: two beats on the DatabaseScheduler and one worker for a little over a minute
(until each has sent three times and their sweeps have reached two different minutes).
The sweep entry is set to fire every 15 s, so the beats send it about ten times in all; the
per-minute lock must turn that into one sweep per minute, each service probed once per sweep.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from monitoring.models import SweepRun
from tests.factories import VendorFactory
from tests.monitoring.test_sweep_worker import create_services
from tests.support.worker import ROOT, database_url_of_test_db, wait_until

pytestmark = pytest.mark.worker

MAX_RUN = 140  # seconds


def start_beat(log_path):
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable, "-m", "celery", "-A", "market", "beat", "--loglevel", "INFO",
            "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
            "--max-interval", "1", "--pidfile=",
        ],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url_of_test_db()},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process, log


def sends_of(tmp_path) -> list[int]:
    """How many times each beat has sent the sweep so far, from its log."""
    return [
        (tmp_path / f"beat-{n}.log").read_text().count("Sending due task Health sweep")
        for n in (1, 2)
    ]


def test_two_beats_for_a_minute_sweep_each_service_once_per_firing(
    celery_worker, stub_vendors, tmp_path
):
    stubs = stub_vendors(ports=2)
    services = create_services(stubs)
    # Only the sweep fires, often, with its chunks sent at once (no 40 s spread to wait for).
    PeriodicTask.objects.exclude(task="monitoring.health_sweep").update(enabled=False)
    sweep = PeriodicTask.objects.get(task="monitoring.health_sweep")
    sweep.interval = IntervalSchedule.objects.create(every=15, period=IntervalSchedule.SECONDS)
    sweep.kwargs = json.dumps({"spread_seconds": 1})
    sweep.save()
    VendorFactory()  # keep a vendor without services in the data, as in real life

    beats = [start_beat(tmp_path / f"beat-{n}.log") for n in (1, 2)]
    started = time.monotonic()
    try:
        # On until both beats have sent the sweep three times and the sweeps have reached a
        # second minute: where the first send falls in its minute decides how long that takes.
        wait_until(
            lambda: (
                min(sends_of(tmp_path)) >= 3
                and SweepRun.objects.values("minute").distinct().count() >= 2
            ),
            timeout=MAX_RUN,
            message="the beats did not send three times each into two minutes",
        )
    finally:
        for process, log in beats:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
            log.close()

    ran_for = time.monotonic() - started
    sends = sends_of(tmp_path)
    assert sends[0] >= 3 and sends[1] >= 3, sends  # both beats really fired, again and again
    wait_until(
        lambda: SweepRun.objects.filter(finished_at__isnull=True).count() == 0,
        timeout=60,
        message="a sweep never finished",
    )
    sweeps = SweepRun.objects.count()
    minutes = {run.minute for run in SweepRun.objects.all()}
    assert 2 <= sweeps == len(minutes) <= ran_for // 60 + 2  # one per minute, not per send
    assert sweeps < sum(sends)
    # Each service answered at most one probe per sweep (a sweep that starts within 30 s of
    # the last probe skips it), never one per beat or per send.
    assert len(stubs.hits) == len(services)
    assert set(stubs.hits.values()) <= set(range(1, sweeps + 1)), dict(stubs.hits)
    assert sum(stubs.hits.values()) == sum(run.probes for run in SweepRun.objects.all())
