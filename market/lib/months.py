"""Calendar months, the unit of usage reports and statements: one date per month (its 1st)."""

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _


def month_first(value: date) -> date:
    return value.replace(day=1)


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def month_parse(text: str) -> date:
    """``"2026-03"`` → ``date(2026, 3, 1)``; raises ValueError for anything else."""
    parsed = datetime.strptime(text, "%Y-%m")
    return date(parsed.year, parsed.month, 1)


# The earliest month the market takes for usage and statements (a year 1 date is a typo).
FIRST_MONTH = date(2000, 1, 1)


def month_out_of_range(month: date, *, today: date | None = None) -> str | None:
    """Why ``month`` cannot be reported or billed (before 2000-01 or after this month), or None.

    The reason is translated (Korean by default) and names the range, e.g. for ``0001-01``.
    """
    latest = month_first(today or timezone.localdate())
    if FIRST_MONTH <= month_first(month) <= latest:
        return None
    return _("Choose a month from %(first)s to %(last)s.") % {
        "first": month_label(FIRST_MONTH),
        "last": month_label(latest),
    }


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(today: date | None = None) -> date:
    """The month before the one `today` (the market's local date by default) falls in."""
    first = (today or timezone.localdate()).replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def days_in_month(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month as [start, end) in the market's time zone."""
    tz = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(month_first(month), datetime.min.time(), tzinfo=tz)
    end = datetime.combine(next_month(month), datetime.min.time(), tzinfo=tz)
    return start, end
