"""The retry schedule: ~10 s doubling, at most 10 minutes apart for 6 h, hourly to 72 h, then stop."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from tenants.operations import retry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Fixed:
    """An rng whose jitter is always the given end of the range."""

    def __init__(self, value: float):
        self.value = value

    def uniform(self, low: float, high: float) -> float:
        return {"low": low, "high": high, "mid": (low + high) / 2}[self.value]


def delay(*, attempts: int, elapsed: timedelta, rng=None, retry_after=None) -> timedelta | None:
    now = T0 + elapsed
    when = retry.next_attempt_at(
        attempts=attempts,
        first_failure_at=T0,
        now=now,
        retry_after_seconds=retry_after,
        rng=rng or random.Random(attempts),
    )
    return None if when is None else when - now


def schedule(rng) -> list[datetime]:
    """The attempt times of an operation that fails every time, starting at T0."""
    now, attempts, times = T0, 1, [T0]
    while when := retry.next_attempt_at(attempts=attempts, first_failure_at=T0, now=now, rng=rng):
        now, attempts = when, attempts + 1
        times.append(now)
    return times


@pytest.mark.parametrize("jitter", ["low", "mid", "high"])
def test_the_first_retry_comes_about_10_seconds_later(jitter):
    assert timedelta(seconds=8) <= delay(attempts=1, elapsed=timedelta(), rng=Fixed(jitter))
    assert delay(attempts=1, elapsed=timedelta(), rng=Fixed(jitter)) <= timedelta(seconds=12)


def test_the_delay_doubles_while_it_is_short():
    mids = [delay(attempts=n, elapsed=timedelta(), rng=Fixed("mid")) for n in range(1, 6)]
    assert [d.total_seconds() for d in mids] == [10, 20, 40, 80, 160]


def test_capped_retries_keep_their_jitter():
    low = delay(attempts=30, elapsed=timedelta(hours=1), rng=Fixed("low"))
    high = delay(attempts=30, elapsed=timedelta(hours=1), rng=Fixed("high"))
    assert high == timedelta(minutes=10)
    assert low <= timedelta(minutes=7)


@pytest.mark.parametrize("seed", range(20))
def test_retries_are_at_most_10_minutes_apart_for_the_first_6_hours(seed):
    times = schedule(random.Random(seed))
    early = [b - a for a, b in zip(times, times[1:], strict=False) if a - T0 < timedelta(hours=6)]
    assert len(early) > 30
    assert max(early) <= timedelta(minutes=10)


@pytest.mark.parametrize("jitter", ["low", "high"])
def test_after_6_hours_retries_are_hourly(jitter):
    gap = delay(attempts=60, elapsed=timedelta(hours=6), rng=Fixed(jitter))
    assert timedelta(minutes=48) <= gap <= timedelta(minutes=72)


@pytest.mark.parametrize("seed", range(5))
def test_retries_stop_after_72_hours(seed):
    times = schedule(random.Random(seed))
    assert times[-1] - T0 >= timedelta(hours=72)
    assert times[-2] - T0 < timedelta(hours=72)
    late = [b - a for a, b in zip(times, times[1:], strict=False) if a - T0 >= timedelta(hours=6)]
    assert 50 <= len(late) <= 90  # about one an hour for 66 hours


def test_no_attempt_is_scheduled_once_72_hours_have_passed():
    assert delay(attempts=110, elapsed=timedelta(hours=72)) is None
    assert delay(attempts=110, elapsed=timedelta(hours=71, minutes=59)) is not None


def test_retry_after_longer_than_the_backoff_is_respected():
    assert delay(attempts=1, elapsed=timedelta(), retry_after=300) >= timedelta(seconds=300)


def test_retry_after_shorter_than_the_backoff_does_not_hurry_the_retry():
    hurried = delay(attempts=8, elapsed=timedelta(hours=1), rng=Fixed("low"), retry_after=1)
    assert hurried == delay(attempts=8, elapsed=timedelta(hours=1), rng=Fixed("low"))
    assert hurried > timedelta(minutes=6)


def test_many_attempts_after_a_staff_retry_do_not_overflow_the_delay():
    # "Retry now" clears first_failure_at but keeps the attempt count of the last 72 hours.
    gap = delay(attempts=500, elapsed=timedelta(), rng=Fixed("high"))
    assert timedelta(minutes=6) <= gap <= timedelta(minutes=10)
