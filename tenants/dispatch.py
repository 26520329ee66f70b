"""Send operations to a worker once the transaction that wrote them has committed.

Only ids travel through the broker; if a message is lost the reconciler sends it again.
"""

from django.db import transaction

from tenants.models import Operation


def dispatch_after_commit(operation: Operation, *, countdown: float | None = None) -> None:
    operation_id = operation.pk
    transaction.on_commit(lambda: send_to_worker(operation_id, countdown=countdown))


def send_to_worker(operation_id: int, *, countdown: float | None = None) -> None:
    from tenants.tasks import execute_operation

    try:
        execute_operation.apply_async(args=[operation_id], countdown=countdown)
    except Exception:  # noqa: BLE001 - a broker outage must not fail the request; the reconciler resends
        import logging

        logging.getLogger(__name__).warning(
            "could not send operation %s; the reconciler will", operation_id
        )
