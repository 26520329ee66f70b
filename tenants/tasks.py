"""Celery tasks of the lifecycle: thin wrappers that take ids and call one service function."""

from celery import shared_task

from tenants import executor, scheduling


@shared_task(name="tenants.execute_operation", acks_late=True)
def execute_operation(operation_id: int) -> str:
    return executor.operation_execute(operation_id=operation_id)


@shared_task(name="tenants.reconcile_operations")
def reconcile_operations() -> dict:
    return scheduling.reconcile_operations()


@shared_task(name="tenants.process_subscription_dates")
def process_subscription_dates() -> dict:
    return scheduling.process_subscription_dates()


@shared_task(name="tenants.sync_tenant_statuses")
def sync_tenant_statuses() -> int:
    return scheduling.sync_tenant_statuses()
