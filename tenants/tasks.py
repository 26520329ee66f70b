"""Celery tasks of the lifecycle: thin wrappers that take ids and call one service function.

The registered names are part of the deployment (beat entries in the database, market/schedule.py,
messages already queued): they stay as they are wherever the code behind them moves.
"""

from celery import shared_task

from tenants.operations import apply, calendar, reconcile
from tenants.operations.dispatch import EXECUTE_TASK


@shared_task(name=EXECUTE_TASK, acks_late=True)
def execute_operation(operation_id: int) -> str:
    return apply.operation_execute(operation_id=operation_id)


@shared_task(name="tenants.reconcile_operations")
def reconcile_operations() -> dict:
    return reconcile.reconcile_operations()


@shared_task(name="tenants.process_subscription_dates")
def process_subscription_dates() -> dict:
    return calendar.process_subscription_dates()


@shared_task(name="tenants.sync_tenant_statuses")
def sync_tenant_statuses() -> int:
    return reconcile.sync_tenant_statuses()
