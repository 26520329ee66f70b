"""market/lib/months.py: the one place that does calendar-month arithmetic."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from market.lib import months
from services.standard.metrics import STANDARD_USAGE_METRICS


def test_next_and_previous_month_cross_the_year():
    assert months.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert months.next_month(date(2026, 1, 31)) == date(2026, 2, 1)
    assert months.previous_month(date(2026, 1, 15)) == date(2025, 12, 1)
    assert months.previous_month(date(2026, 3, 31)) == date(2026, 2, 1)


def test_days_in_month_knows_leap_years():
    assert months.days_in_month(date(2028, 2, 1)) == 29
    assert months.days_in_month(date(2026, 2, 1)) == 28


def test_month_parse_and_label_round_trip_and_refuse_other_shapes():
    assert months.month_parse("2026-03") == date(2026, 3, 1)
    assert months.month_label(date(2026, 3, 17)) == "2026-03"
    for bad in ("2026-3-1", "03-2026", "2026-13", ""):
        with pytest.raises(ValueError):
            months.month_parse(bad)


def test_month_bounds_are_local_midnights(settings):
    start, end = months.month_bounds(date(2026, 3, 9))
    seoul = ZoneInfo(settings.TIME_ZONE)
    assert start == datetime(2026, 3, 1, tzinfo=seoul)
    assert end == datetime(2026, 4, 1, tzinfo=seoul)


def test_the_standard_usage_metrics_are_the_founding_documents_four_in_its_order():
    assert STANDARD_USAGE_METRICS == ("api_calls", "ai_tokens", "storage_gb", "active_users")
