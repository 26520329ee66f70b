"""Lanes: the entries whose timing matters run where lifecycle work never queues, a late sweep
still covers its own minute, and a queue nobody serves is refused at start."""

import datetime
import subprocess
import sys

import pytest
import time_machine
from django_celery_beat.models import PeriodicTask

from market.celery import app
from market.schedule import LANES, PERIODIC_TASKS, task_routes, unknown_lanes
from monitoring.models import SweepRun
from monitoring.tasks import health_sweep
from tests.support.worker import ROOT, database_url_of_test_db

MINUTE = datetime.datetime(2026, 12, 4, 10, 0, tzinfo=datetime.UTC)


def test_the_sweep_the_reconciler_and_the_calendar_run_on_the_probes_lane():
    routes = task_routes()
    for task in (
        "monitoring.health_sweep",
        "monitoring.tasks.probe_chunk",
        "tenants.reconcile_operations",
        "tenants.process_subscription_dates",
    ):
        assert routes[task] == {"queue": "probes"}, task
    assert "tenants.execute_operation" not in routes, "lifecycle calls stay on celery"
    assert app.amqp.router.route({}, "tenants.execute_operation")["queue"].name == "celery"
    assert app.amqp.router.route({}, "monitoring.health_sweep")["queue"].name == "probes"
    assert {entry.queue for entry in PERIODIC_TASKS} <= set(LANES)


def published(queue: str) -> list[dict]:
    """Take every message off `queue`: (task name, kwargs)."""
    messages = []
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue)
        try:
            while True:
                message = simple.get(block=True, timeout=1)
                messages.append((message.headers["task"], message.payload[1]))
                message.ack()
        except simple.Empty:
            pass
        finally:
            simple.close()
    return messages


def test_a_sweep_sent_at_the_end_of_a_minute_and_started_late_sweeps_that_minute(db):
    published("probes")
    with time_machine.travel(MINUTE + datetime.timedelta(seconds=59.5), tick=False):
        health_sweep.apply_async()  # as beat sends it: no arguments
    [(task, kwargs)] = published("probes")
    assert task == "monitoring.health_sweep"
    assert datetime.datetime.fromisoformat(kwargs["now"]) == MINUTE + datetime.timedelta(
        seconds=59.5
    )

    # A worker busy elsewhere starts it 10 s into the next minute.
    with time_machine.travel(MINUTE + datetime.timedelta(seconds=70), tick=False):
        health_sweep(**kwargs)
    # The on-time sweep of the next minute is not skipped as "already ran".
    with time_machine.travel(MINUTE + datetime.timedelta(seconds=119), tick=False):
        health_sweep.apply_async()
    [(_task, next_kwargs)] = published("probes")
    health_sweep(**next_kwargs)

    minutes = list(SweepRun.objects.order_by("minute").values_list("minute", flat=True))
    assert minutes == [MINUTE, MINUTE + datetime.timedelta(minutes=1)]


def test_an_explicit_moment_is_kept():
    published("probes")
    health_sweep.apply_async(kwargs={"now": MINUTE.isoformat()})
    [(_task, kwargs)] = published("probes")
    assert kwargs["now"] == MINUTE.isoformat()


def test_a_queue_no_worker_serves_is_named():
    assert unknown_lanes([("task x", "probes"), ("periodic task 'y'", "probe")]) == [
        "periodic task 'y' is routed to queue 'probe', which no worker serves "
        "(lanes: celery, probes)"
    ]


def run(*argv, env=None, timeout=60):
    import os

    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "celery", "-A", "market", *argv],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.worker
def test_a_worker_told_to_serve_an_unknown_queue_refuses_to_start():
    result = run("worker", "--queues", "celery,probe", "--pool", "solo")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "Configuration error" in line]
    assert errors == [
        "Configuration error: worker queue 'probe' is no lane; serve one of: celery, probes "
        "(--queues)"
    ]


@pytest.mark.worker
def test_beat_refuses_to_start_while_a_periodic_task_goes_to_an_unserved_queue(
    transactional_db, tmp_path
):
    PeriodicTask.objects.filter(task="tenants.reconcile_operations").update(queue="probe")
    result = run(
        "beat",
        "--pidfile=",
        "--schedule",
        str(tmp_path / "beat"),
        env={"DATABASE_URL": database_url_of_test_db()},
    )
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "'Reconcile lifecycle operations (every minute)' is routed to queue 'probe'" in output
