from django_celery_beat.models import PeriodicTask

from market.schedule import PERIODIC_TASKS, ensure_periodic_tasks


def test_fresh_database_has_every_declared_periodic_task(db):
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {entry.name for entry in PERIODIC_TASKS} <= names


def test_health_sweep_expires_before_the_next_one(db):
    sweep = PeriodicTask.objects.get(task="monitoring.health_sweep")
    assert sweep.interval.every == 60
    assert 0 < sweep.expire_seconds < 60


def test_staff_edits_survive_a_second_sync(db):
    sweep = PeriodicTask.objects.get(task="monitoring.health_sweep")
    sweep.enabled = False
    sweep.save()
    assert ensure_periodic_tasks() == 0
    sweep.refresh_from_db()
    assert sweep.enabled is False
