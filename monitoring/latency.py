"""A tiny latency histogram that lives in one JSON field and still answers p50 and p95.

An hourly rollup sees up to 60 probes of one service. Keeping every latency would grow with
extra sweeps; a fixed set of buckets keeps the row the same size whatever happens. A
percentile is reported as the upper bound of the bucket it falls in, so it is never better
than the truth and at most one bucket worse (buckets are ~25-50 % apart).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping

# Upper bounds in milliseconds. Anything slower than the last bound lands in OVERFLOW.
BUCKET_BOUNDS_MS: tuple[int, ...] = (
    5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 250, 300, 400, 500,
    750, 1000, 1500, 2000, 3000, 5000, 7500, 10000,
)  # fmt: skip
OVERFLOW = "inf"


def bucket_key(latency_ms: int) -> str:
    """The histogram key for one latency: the smallest bound that is >= the latency."""
    index = bisect_left(BUCKET_BOUNDS_MS, max(0, int(latency_ms)))
    return OVERFLOW if index == len(BUCKET_BOUNDS_MS) else str(BUCKET_BOUNDS_MS[index])


def histogram_add(histogram: Mapping[str, int], latencies: Iterable[int]) -> dict[str, int]:
    """A new histogram with ``latencies`` counted in; the given one is not changed."""
    result = dict(histogram)
    for latency in latencies:
        key = bucket_key(latency)
        result[key] = result.get(key, 0) + 1
    return result


def _ordered(histogram: Mapping[str, int]) -> list[tuple[float, int]]:
    pairs = []
    for key, count in histogram.items():
        bound = float("inf") if key == OVERFLOW else float(key)
        if count > 0:
            pairs.append((bound, int(count)))
    return sorted(pairs)


def histogram_percentile(histogram: Mapping[str, int], fraction: float) -> int | None:
    """The latency (ms) below which ``fraction`` of the counted probes fall, or None if empty.

    Uses the nearest-rank definition: the smallest bucket whose cumulative count reaches
    ``ceil(fraction * total)``. The overflow bucket reports the last finite bound.
    """
    pairs = _ordered(histogram)
    total = sum(count for _bound, count in pairs)
    if total == 0:
        return None
    # round() first so 0.95 * 20 is 19, not 19.000000000000004 (which would ceil to 20).
    rank = max(1, math.ceil(round(fraction * total, 9)))
    seen = 0
    for bound, count in pairs:
        seen += count
        if seen >= rank:
            return BUCKET_BOUNDS_MS[-1] if bound == float("inf") else int(bound)
    return BUCKET_BOUNDS_MS[-1]
