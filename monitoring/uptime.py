"""90-day uptime bars drawn on the server as plain SVG rectangles (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

BAR_WIDTH = 6
BAR_GAP = 2
BAR_HEIGHT = 28

# Fill colours match the stylesheet's --ok / --warn / --bad / --line tokens.
FILL_OK = "#17794a"
FILL_WARN = "#d08a00"
FILL_BAD = "#b3261e"
FILL_NO_DATA = "#d9dee5"

OK_FROM = Decimal("99.5")
WARN_FROM = Decimal("95")


@dataclass(frozen=True)
class DayCount:
    checks: int
    failures: int


@dataclass(frozen=True)
class UptimeBar:
    day: date
    x: int
    fill: str
    percent: Decimal | None  # None: no checks that day
    checks: int
    failures: int


@dataclass(frozen=True)
class UptimeStrip:
    bars: list[UptimeBar]
    width: int
    height: int
    percent: Decimal | None  # over the whole window; None without any checks

    @property
    def level(self) -> str:
        return _level(self.percent)

    @property
    def bar_width(self) -> int:
        return BAR_WIDTH


def uptime_percent(checks: int, failures: int) -> Decimal | None:
    """Share of checks that were not unhealthy, as a percentage truncated to 2 decimals.

    Truncated, never rounded up: 99.996 % is shown as 99.99 %, never as a perfect 100 %.
    """
    if checks <= 0:
        return None
    value = Decimal(checks - failures) * 100 / Decimal(checks)
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _level(percent: Decimal | None) -> str:
    if percent is None:
        return "none"
    if percent >= OK_FROM:
        return "ok"
    if percent >= WARN_FROM:
        return "warn"
    return "bad"


_FILLS = {"ok": FILL_OK, "warn": FILL_WARN, "bad": FILL_BAD, "none": FILL_NO_DATA}


def uptime_strip(*, counts: dict[date, DayCount], last_day: date, days: int = 90) -> UptimeStrip:
    """One bar per day, oldest on the left, ending with ``last_day`` (usually today)."""
    bars = []
    total_checks = total_failures = 0
    for index in range(days):
        day = last_day - timedelta(days=days - 1 - index)
        count = counts.get(day, DayCount(0, 0))
        total_checks += count.checks
        total_failures += count.failures
        percent = uptime_percent(count.checks, count.failures)
        bars.append(
            UptimeBar(
                day=day,
                x=index * (BAR_WIDTH + BAR_GAP),
                fill=_FILLS[_level(percent)],
                percent=percent,
                checks=count.checks,
                failures=count.failures,
            )
        )
    return UptimeStrip(
        bars=bars,
        width=days * (BAR_WIDTH + BAR_GAP) - BAR_GAP,
        height=BAR_HEIGHT,
        percent=uptime_percent(total_checks, total_failures),
    )
