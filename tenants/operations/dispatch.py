"""Send operations to a worker once the transaction that wrote them has committed.

Only ids travel through the broker; if a message is lost the reconciler sends it again.
"""

from django.db import transaction

from market.lib.tasks import registered_task
from tenants.models import Operation

# The registered name of the task that runs one operation (tenants/tasks.py). The task is
# called by name so that this module, low in the lifecycle, never imports the tasks above it.
EXECUTE_TASK = "tenants.execute_operation"


def dispatch_after_commit(operation: Operation, *, countdown: float | None = None) -> None:
    dispatch_id_after_commit(operation.pk, countdown=countdown)


def dispatch_id_after_commit(operation_id: int, *, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: send_to_worker(operation_id, countdown=countdown))


def _execute_task():
    return registered_task(EXECUTE_TASK)


def send_to_worker(operation_id: int, *, countdown: float | None = None) -> None:
    try:
        _execute_task().apply_async(args=[operation_id], countdown=countdown)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the request; the reconciler resends
        import logging

        logging.getLogger(__name__).warning(
            "could not send operation %s; the reconciler will", operation_id
        )
