"""What the three ad-platform sources share: their two tables' columns and merge key, and the
date window daily stats are (re)read over.

Ad platforms revise recent days (conversions keep arriving for about a week, spend is
corrected), so each run re-reads from ``last loaded date - lookback_days`` up to today and
merges on ``STATS_KEY``. The cursor is a ``dlt.sources.incremental`` on the ``date`` column
with ``lag=lookback_days``: its state lives in dlt state, which dlt stores in the warehouse
and restores from there when the local pipelines folder is gone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt

#: One row per day x account x campaign: the merge key of every ``campaign_stats_daily``.
STATS_KEY = ("date", "account_id", "campaign_id")
#: Column hints of ``campaigns``: ids stay text whatever the platform sends, and every column
#: the staging models read (macros/ad_platform_staging.sql) exists even when always null.
CAMPAIGN_COLUMNS: dict[str, Any] = {
    "id": {"data_type": "text", "nullable": False},
    "name": {"data_type": "text"},
    "status": {"data_type": "text"},
    "account_id": {"data_type": "text"},
    "currency": {"data_type": "text"},
}
#: Column hints of ``campaign_stats_daily``: spend exact (micros + the platform's decimal text).
STATS_COLUMNS: dict[str, Any] = {
    "date": {"data_type": "date", "nullable": False},
    "account_id": {"data_type": "text", "nullable": False},
    "campaign_id": {"data_type": "text", "nullable": False},
    "currency": {"data_type": "text"},
    "impressions": {"data_type": "bigint"},
    "clicks": {"data_type": "bigint"},
    "spend_micros": {"data_type": "bigint"},
    "spend": {"data_type": "text"},
    "conversions": {"data_type": "double"},
}
#: How far back a first run reads when no ``start_date`` is configured.
DEFAULT_HISTORY_DAYS = 730


def last_day(end_date: str | None = None) -> date:
    """The last day a window asks for: ``end_date`` when set, else the platforms' today (UTC).

    ``end_date`` (setting ``SOURCES__<PLATFORM>__END_DATE``) pins the window for a backfill, and
    gives the sandbox its own "today" (its as-of), so that what a run requests does not depend
    on the calendar.
    """
    return date.fromisoformat(end_date) if end_date else datetime.now(UTC).date()


def default_start_date(end_date: str | None = None) -> str:
    """Two years before the last day, as ``YYYY-MM-DD``."""
    return (last_day(end_date) - timedelta(days=DEFAULT_HISTORY_DAYS)).isoformat()


def date_cursor(
    start_date: str | None, lookback_days: int, end_date: str | None = None
) -> dlt.sources.incremental[str]:
    """The incremental cursor on ``date`` (``YYYY-MM-DD`` strings), lagging ``lookback_days`` days."""
    if lookback_days < 0:
        raise ValueError(f"lookback_days must be >= 0, got {lookback_days}")
    initial = date.fromisoformat(start_date or default_start_date(end_date)).isoformat()
    return dlt.sources.incremental("date", initial_value=initial, lag=lookback_days or None)


def window(cursor: dlt.sources.incremental[str], end_date: str | None = None) -> tuple[date, date]:
    """Inclusive ``(first, last)`` days to request: the lagged cursor start up to the last day.

    ``cursor.start_value`` is ``initial_value`` on a first run, else the last loaded date minus
    the lag (never before ``initial_value``).
    """
    first = date.fromisoformat(str(cursor.start_value))
    return first, max(first, last_day(end_date))
