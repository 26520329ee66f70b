"""The reconcilers beat starts: the database against the broker, the market against vendors.

They read and send; every write they need is a service function (`services.py`).
"""

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from services.vendor_targets import client_for
from tenants.models import Operation, Tenant
from tenants.operations import services
from tenants.operations.dispatch import send_to_worker

logger = logging.getLogger(__name__)
S = Tenant.State
STATUS_SYNC_THREADS = 16


def reconcile_operations(*, now=None, limit: int = 5000) -> dict[str, int]:
    """Re-dispatch operations that are due, and reclaim ones stuck in flight (a killed worker).

    The broker may have lost the message (flushed, restarted) or the web process may have died
    right after commit; the database row is the truth, so nothing queued is lost.
    """
    now = now or timezone.now()
    reclaimed = services.operations_reclaim_stuck(now=now)
    due = list(
        Operation.objects.filter(
            state__in=[Operation.State.QUEUED, Operation.State.POLLING], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for operation_id in due:
        send_to_worker(operation_id)
    return {"reclaimed": reclaimed, "dispatched": len(due)}


def tenant_sync_status(*, tenant: Tenant) -> Tenant:
    """Ask the vendor for one tenant's status; flag drift, never overwrite the market's state."""
    client = client_for(tenant.service)
    try:
        response = client.status(tenant.tenant_id, request_id=str(uuid.uuid4()))
    finally:
        client.close()
    if not response.ok and response.status_code not in (404, 410):
        return tenant  # an unclear answer says nothing about drift
    return services.tenant_record_status(tenant=tenant, response=response)


def sync_tenant_statuses(*, batch_size: int = 500) -> int:
    """Hourly: the status of every settled tenant, concurrently, in batches."""
    settled = (
        Tenant.objects.filter(state__in=[S.ACTIVE, S.DEACTIVATED])
        .exclude(Q(operations__state__in=Operation.OPEN_STATES))
        .select_related("service__current_manifest")
        .order_by("pk")
    )
    synced = 0
    last_pk = 0
    while True:
        batch = list(settled.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return synced
        last_pk = batch[-1].pk
        with ThreadPoolExecutor(max_workers=STATUS_SYNC_THREADS) as pool:
            for _tenant in pool.map(_sync_safely, batch):
                synced += 1


def _sync_safely(tenant: Tenant):
    try:
        return tenant_sync_status(tenant=tenant)
    except Exception:  # noqa: BLE001 - one tenant's failure must not stop the sweep
        logger.exception("status sync failed for tenant %s", tenant.pk)
        return tenant
    finally:
        connection.close()
