"""When to try a vendor call again: exponential backoff with jitter, scheduled in the database.

About 10 s at first, doubling up to 10 minutes apart for the first 6 hours, then hourly until
72 hours have passed since the first failure; then a person must look.
"""

import random
from datetime import datetime, timedelta

FIRST_DELAY = timedelta(seconds=10)
EARLY_CAP = timedelta(minutes=10)
EARLY_PHASE = timedelta(hours=6)
LATE_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=72)
JITTER = 0.2
MAX_DOUBLINGS = 10  # 10 s * 2**10 is far past the cap already


def next_attempt_at(
    *,
    attempts: int,
    first_failure_at: datetime,
    now: datetime,
    retry_after_seconds: int | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """The moment of the next attempt, or None when the retries are spent."""
    if now - first_failure_at >= GIVE_UP_AFTER:
        return None
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if now - first_failure_at < EARLY_PHASE:
        # The exponent is bounded: a staff retry clears first_failure_at but keeps the attempt
        # count, and 10 s * 2**attempts overflows timedelta after ~45 attempts.
        doubled = FIRST_DELAY * (2 ** min(max(attempts - 1, 0), MAX_DOUBLINGS))
        # The cap leaves room for the jitter, so retries are never more than 10 minutes apart
        # and operations that failed together still spread out.
        base = min(doubled, EARLY_CAP / (1 + JITTER))
        delay = timedelta(seconds=base.total_seconds() * spread)
    else:
        delay = timedelta(seconds=LATE_DELAY.total_seconds() * spread)
    if retry_after_seconds:
        delay = max(delay, timedelta(seconds=retry_after_seconds))
    return now + delay
