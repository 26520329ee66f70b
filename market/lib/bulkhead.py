"""The bulkhead between vendors: how many of a worker's slots one vendor may hold.

A worker that serves lifecycle calls (the ``celery`` queue) holds, for one vendor, at most
``VENDOR_MAX_CALLS_PER_VENDOR`` lifecycle calls (counted across every worker in the database,
see tenants/operations/claim.py) plus one usage collection chunk (monitoring/tasks.py chains a
vendor's chunks, one at a time). Both together may take at most half of the worker's slots, so
whatever one vendor does (hang, answer slowly, queue thousands of operations) the other vendors
keep at least half of every worker.

``VENDOR_MAX_CALLS_PER_VENDOR=0`` (the default) means: half the worker's slots less the usage
slot, at least 1. An explicit value that breaks the rule stops the worker at start with one line.
"""

from django.conf import settings

# The slots of the worker this process belongs to; None outside a worker (web, tests, shell).
_worker_slots: int | None = None


def fair_vendor_cap(slots: int) -> int:
    """The most lifecycle calls one vendor may hold in a worker of ``slots`` slots."""
    return max(1, slots // 2 - 1)


def vendor_call_cap() -> int:
    """The cap on one vendor's lifecycle calls in flight, for claims made in this process."""
    configured = int(settings.VENDOR_MAX_CALLS_PER_VENDOR)
    if configured:
        return configured
    if _worker_slots is None:  # not a worker: only the per-service cap applies
        return max(int(settings.VENDOR_MAX_CONCURRENT_CALLS), 1)
    return fair_vendor_cap(_worker_slots)


def worker_configure(*, slots: int, serves_lifecycle: bool) -> str | None:
    """Record the worker's slots; the one-line reason to refuse to start, or None."""
    global _worker_slots
    _worker_slots = slots
    configured = int(settings.VENDOR_MAX_CALLS_PER_VENDOR)
    if not serves_lifecycle or not configured:
        return None
    held = configured + 1  # its lifecycle calls and its usage chunk
    if 2 * held > slots:
        return (
            f"VENDOR_MAX_CALLS_PER_VENDOR={configured} lets one vendor hold {held} of this "
            f"worker's {slots} slots (with its usage chunk), more than half: set it to at most "
            f"{fair_vendor_cap(slots)}, or 0 for that automatically, or give the worker "
            f"--concurrency {2 * held} or more."
        )
    return None
