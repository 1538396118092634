"""Calendar arithmetic the simulation shares: UTC timestamps, days and Stripe's month stepping."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta

DAY = 86_400


def day_start(day: date) -> int:
    """Unix seconds of midnight UTC starting ``day``."""
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def ts_date(ts: float) -> date:
    return datetime.fromtimestamp(ts, tz=UTC).date()


def add_months(ts: int, months: int, anchor_day: int | None = None) -> int:
    """``ts`` moved by whole calendar months, keeping the time of day.

    Stripe keeps the billing anchor's day of month and clamps it to short months
    (an anchor on the 31st bills on Feb 28), so the anchor day is passed separately.
    """
    moment = datetime.fromtimestamp(ts, tz=UTC)
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor_day or moment.day, calendar.monthrange(year, month + 1)[1])
    return int(moment.replace(year=year, month=month + 1, day=day).timestamp())


def month_starts(first: date, last_exclusive: date) -> list[date]:
    """First days of every month from ``first``'s month up to ``last_exclusive``."""
    months = []
    current = first.replace(day=1)
    while current < last_exclusive:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def next_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)
