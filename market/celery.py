"""The Celery app: a worker and beat (DatabaseScheduler) make every call into vendors."""

import logging
import os

from celery import Celery
from celery.signals import (
    beat_init,
    before_task_publish,
    celeryd_after_setup,
    import_modules,
    worker_ready,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "market.settings")

app = Celery("market")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@import_modules.connect
def _fail_clearly_on_bad_environment(sender=None, **kwargs):
    """Settings are read lazily; read them now so a bad variable fails with one line."""
    import sys

    from market.lib.env import EnvError

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except EnvError as error:
        sys.stderr.write(f"Configuration error: {error}\n")
        sys.exit(2)


@before_task_publish.connect
def _stamp_sent_at(sender=None, body=None, **kwargs):
    """Give entries that ask for it the moment they were sent (market/schedule.py).

    A health sweep sent at 10:00:55 that a worker starts at 10:01:05 still sweeps 10:00,
    instead of taking 10:01 and making the on-time 10:01 sweep skip as "already ran".
    """
    from market.schedule import sent_at_kwargs

    name = sent_at_kwargs().get(sender)
    if not name or not isinstance(body, tuple | list) or len(body) < 2:
        return
    task_kwargs = body[1]
    if isinstance(task_kwargs, dict) and task_kwargs.get(name) is None:
        from django.utils import timezone

        task_kwargs[name] = timezone.now().isoformat()


def _refuse(problems: list[str]) -> None:
    import sys

    if problems:
        sys.stderr.write(f"Configuration error: {problems[0]}\n")
        sys.exit(2)


@celeryd_after_setup.connect
def _refuse_unknown_worker_queues(sender=None, instance=None, conf=None, **kwargs):
    """A worker told to serve a queue no task goes to is a typo that leaves a lane unserved."""
    from market.schedule import LANES

    queues = sorted(instance.app.amqp.queues.consume_from or instance.app.amqp.queues)
    known = ", ".join(LANES)
    _refuse(
        [
            f"worker queue {queue!r} is no lane; serve one of: {known} (--queues)"
            for queue in queues
            if queue not in LANES
        ]
    )


@beat_init.connect
def _stop_beat_between_ticks(sender=None, **kwargs):
    """Beat stops on SIGTERM/SIGINT between two ticks, never in the middle of one.

    Connected first, so that a signal arriving during the other start-up receivers (the lane
    check queries the database) is already handled here.

    Celery's own handler saves the schedule from inside the signal handler, whatever the
    main thread was doing: when the signal lands in the middle of a database query the save
    fails on the same connection ("Cannot operate on a closed database" on SQLite), beat keeps
    running and honcho or Docker SIGKILLs it. Here the handler only stops the loop when beat
    is asleep between ticks; otherwise the tick in progress finishes first, then beat stops
    and Celery saves the schedule as usual.
    """
    import threading

    from celery import beat, platforms

    service = sender
    if not isinstance(service, beat.Service):
        return
    stopping = threading.Event()
    scheduler = service.scheduler
    tick = scheduler.tick

    def tick_then_stop(*args, **kwargs):
        interval = tick(*args, **kwargs)
        if stopping.is_set():
            raise SystemExit()
        return interval

    def stop(signum, frame):
        stopping.set()
        service._is_shutdown.set()
        if frame is not None and frame.f_code is beat.Service.start.__code__:
            raise SystemExit()  # asleep between ticks: nothing is half done

    scheduler.tick = tick_then_stop
    platforms.signals.update(SIGTERM=stop, SIGINT=stop)
    logging.getLogger(__name__).info("beat: stops between ticks on SIGTERM or SIGINT")


@beat_init.connect
def _refuse_unserved_lanes(sender=None, **kwargs):
    """Beat refuses to start while a task or periodic task would go to a queue nobody serves."""
    from django.conf import settings
    from django_celery_beat.models import PeriodicTask

    from market.schedule import unknown_lanes

    routed = [
        (f"task {task}", route.get("queue"))
        for task, route in (settings.CELERY_TASK_ROUTES or {}).items()
    ]
    rows = [
        (f"periodic task {name!r}", queue)
        for name, queue in PeriodicTask.objects.filter(enabled=True)
        .exclude(queue__isnull=True)
        .exclude(queue="")
        .values_list("name", "queue")
    ]
    _refuse(unknown_lanes(routed + rows))


@worker_ready.connect
def _freeze_startup_objects(sender=None, **kwargs):
    """Move everything loaded at start out of the garbage collector's sight.

    A worker holds a few hundred thousand long-lived objects (Django, DRF, the schemas); the
    interpreter's last collection at exit walked them all and added 1.5-2 s to every shutdown.
    Frozen objects are never collected (they live as long as the process anyway), and a
    prefork child shares their pages with its parent instead of copying them on first touch.
    """
    import gc

    gc.freeze()


# The queue lifecycle calls and usage chunks are served from (no route: the default queue).
LIFECYCLE_TASK = "tenants.execute_operation"


@celeryd_after_setup.connect
def _refuse_a_worker_one_vendor_could_fill(sender=None, instance=None, **kwargs):
    """A worker of the lifecycle queue where one vendor could hold over half the slots stops."""
    from market.lib.bulkhead import worker_configure

    lifecycle_queue = app.amqp.router.route({}, LIFECYCLE_TASK)["queue"].name
    consumed = app.amqp.queues.consume_from
    serves_lifecycle = consumed is None or lifecycle_queue in consumed
    problem = worker_configure(slots=int(instance.concurrency), serves_lifecycle=serves_lifecycle)
    _refuse([problem] if problem else [])
