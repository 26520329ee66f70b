"""The filesystem broker (development, tests), made to notice a shutdown at once.

Celery's worker loop on a broker without sockets waits up to 2 s per cycle for a message
before it looks at its shutdown flag; kombu's filesystem transport sleeps through that wait.
This transport waits in short slices and gives up the rest of the wait as soon as the worker
is asked to stop, so a warm shutdown starts within a fraction of a second of SIGTERM.
"""

from __future__ import annotations

from time import monotonic

from kombu.transport import filesystem

# How long one wait for a message lasts at most before the shutdown flag is looked at again.
SLICE_SECONDS = 0.2


def _stopping() -> bool:
    from celery.worker import state

    # The flags hold the exit code once set, and a clean exit is 0: compare as Celery does.
    return any(
        flag is not None and flag is not False
        for flag in (state.should_stop, state.should_terminate)
    )


class Transport(filesystem.Transport):
    """kombu's filesystem transport whose waits end when the worker is stopping."""

    def drain_events(self, connection, timeout=None):
        if timeout is None:
            return super().drain_events(connection, timeout=None)
        deadline = monotonic() + timeout
        while True:
            remaining = deadline - monotonic()
            try:
                return super().drain_events(
                    connection, timeout=max(0.01, min(SLICE_SECONDS, remaining))
                )
            except TimeoutError:
                if _stopping() or monotonic() >= deadline:
                    raise
