"""The lifecycle's Celery task names are part of the deployment: beat rows in the database,
market/schedule.py and messages already queued name them, so moving code must not rename them."""

from market.celery import app
from market.schedule import PERIODIC_TASKS
from tenants.operations.dispatch import EXECUTE_TASK

LIFECYCLE_TASKS = {
    "tenants.execute_operation",
    "tenants.reconcile_operations",
    "tenants.process_subscription_dates",
    "tenants.sync_tenant_statuses",
}


def test_the_lifecycle_task_names_are_the_ones_deployed():
    app.loader.import_default_modules()
    registered = {name for name in app.tasks if name.startswith("tenants.")}
    assert registered == LIFECYCLE_TASKS
    assert EXECUTE_TASK in registered


def test_every_periodic_entry_names_a_registered_task():
    app.loader.import_default_modules()
    missing = [entry.task for entry in PERIODIC_TASKS if entry.task not in app.tasks]
    assert not missing, f"periodic entries name tasks nobody registers: {missing}"


def test_dispatch_sends_through_the_registered_task_object():
    """Not a bare send by name: the task's own options (and eager mode) apply as before."""
    from tenants import tasks
    from tenants.operations import dispatch

    assert dispatch._execute_task() is tasks.execute_operation._get_current_object()
