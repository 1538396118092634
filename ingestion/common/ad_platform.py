"""The frame of the three ad-platform sources: their client, their two tables (columns, merge
keys, the date window daily stats are (re)read over) and the columns every platform's rows have.

A platform (ingestion/sources/<platform>.py) is an ``AdPlatform``: its name, where its lists
keep their rows, how its errors read, and two small functions of its own that read the
campaigns and the stats of a window into rows of the tables below (GAQL for Google, Graph
insights for Meta, the adAnalytics finder for LinkedIn). Everything else is here, once.

Ad platforms revise recent days (conversions keep arriving for about a week, spend is
corrected), so each run re-reads from ``last loaded date - lookback_days`` up to today and
merges on ``STATS_KEY``. The cursor is a ``dlt.sources.incremental`` on the ``date`` column
with ``lag=lookback_days``: its state lives in dlt state, which dlt stores in the warehouse
and restores from there when the local pipelines folder is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import dlt
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Response, Session

from ingestion.common.errors import (
    Envelope,
    envelope_hook,
    error_hook,
    list_under,
    object_with,
    retries_exhausted,
)
from ingestion.common.http_client import Timeouts, http_session
from ingestion.common.oauth import RefreshTokenAuth

Page = list[dict[str, Any]]

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


# --- rows ---------------------------------------------------------------------------------------


def micros(amount: str) -> int:
    """A decimal string as integer micros (a platform may send more digits: rounded half-even)."""
    return int((Decimal(amount) * 1_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))


def campaign_row(fields: dict[str, Any], account_id: str, currency: str | None) -> dict[str, Any]:
    """A ``campaigns`` row: id, name and status popped from ``fields`` (the caller's copy of
    the platform's answer, whose remaining fields it keeps as their own columns)."""
    return {
        "id": str(fields.pop("id")),
        "name": fields.pop("name", None),
        "status": fields.pop("status", None),
        "account_id": account_id,
        "currency": currency,
    }


@dataclass(frozen=True)
class Metrics:
    """Where a platform's stats answer keeps the counts (keys popped from one object).

    Spend is exact either way: integer micros (Google) or the account currency's decimal
    text (Meta, LinkedIn); the table gets both. Numbers may come as strings, and a missing
    one (proto3 JSON leaves zeros out) is 0.
    """

    spend: str
    spend_in_micros: bool = False
    conversions: str | None = None
    impressions: str = "impressions"
    clicks: str = "clicks"


def stats_row(metrics: Metrics, values: dict[str, Any], conversions: float | None = None,
              **keys: Any) -> dict[str, Any]:
    """A ``campaign_stats_daily`` row: ``keys`` (date, account_id, campaign_id, currency), then
    the counts popped from ``values``; ``conversions`` when the platform counts them itself."""
    if metrics.spend_in_micros:
        spend_micros = int(values.pop(metrics.spend, 0))
        spend = f"{Decimal(spend_micros).scaleb(-6):f}"
    else:
        spend = str(values.pop(metrics.spend, "0"))
        spend_micros = micros(spend)
    if conversions is None:
        conversions = float(values.pop(metrics.conversions, 0))
    return {
        **keys,
        "impressions": int(values.pop(metrics.impressions, 0)),
        "clicks": int(values.pop(metrics.clicks, 0)),
        "spend_micros": spend_micros,
        "spend": spend,
        "conversions": conversions,
    }


# --- the client and the source -------------------------------------------------------------------


@dataclass(frozen=True)
class AdPlatform:
    """One ad platform, as data, and the two reads that are its own."""

    #: the dlt source's name (``google_ads``): tables go to ``raw_<source>``
    source: str
    #: its error body as a short text (no secret: ``error_hook`` blanks them anyway)
    describe: Callable[[Response], str]
    #: the campaigns' pages, as ``campaigns`` rows
    read_campaigns: Callable[[AdAPI], Iterator[Page]]
    #: the stats' pages of the days ``first`` to ``last``, as ``campaign_stats_daily`` rows
    read_stats: Callable[[AdAPI, date, date], Iterator[Page]]
    #: the key a list answer keeps its rows under (None: the platform checks its own answers)
    rows_under: str | None = None
    stats_columns: dict[str, Any] | None = None

    @property
    def settings(self) -> str:
        """The prefix of its settings in the environment, to name them in messages."""
        return f"SOURCES__{self.source.upper()}__"


class AdAPI:
    """One platform's RESTClient with its hooks and retries, for one account and one run.

    Every answer goes through the platform's ``error_hook`` (``secrets`` blanked out of any
    message) and an envelope check; what still fails after dlt's retries ends the run in one
    line (``retries_exhausted``). ``options`` holds the platform's own settings for its reads.
    """

    def __init__(self, platform: AdPlatform, client: RESTClient, account: str,
                 secrets: tuple[str, ...], **options: Any) -> None:
        self.platform = platform
        self.client = client
        self.account = account
        self.options = options
        self._refused = error_hook(platform.source, platform.describe, secrets)
        self._currency: str | None = None

    def hooks(self, envelope: Envelope) -> dict[str, list[Any]]:
        return {"response": [self._refused, envelope_hook(self.platform.source, envelope)]}

    def pages(self, path: str, paginator: BasePaginator, params: dict[str, Any] | None = None
              ) -> Iterator[Page]:
        """Every page of a list whose rows are under ``platform.rows_under``."""
        rows_under = self.platform.rows_under
        with retries_exhausted(self.platform.source):
            yield from self.client.paginate(
                path, params=params, paginator=paginator, data_selector=rows_under,
                hooks=self.hooks(list_under(rows_under)),
            )

    def post(self, path: str, body: dict[str, Any], envelope: Envelope) -> Any:
        """One POST's parsed answer, which must have ``envelope``'s shape."""
        with retries_exhausted(self.platform.source):
            return self.client.post(path, json=body, hooks=self.hooks(envelope)).json()

    def currency(self, path: str, params: dict[str, Any] | None = None) -> str:
        """The account's currency, from its node at ``path`` (read once a run)."""
        if self._currency is None:
            with retries_exhausted(self.platform.source):
                node = self.client.get(
                    path, params=params, hooks=self.hooks(object_with("currency"))
                ).json()
            self._currency = node["currency"]
        return self._currency


def session(timeouts: Timeouts) -> Session:
    """An ad source's HTTP session: dlt's retries, the source's timeouts (``http_session``)."""
    return http_session(timeouts)


def refresh_token_auth(source: str, session: Session, token_url: str, client_id: str,
                       client_secret: str, refresh_token: str) -> RefreshTokenAuth:
    """OAuth 2.0 with a refresh token (Google, LinkedIn), over the source's own session."""
    return RefreshTokenAuth(
        access_token_url=token_url, client_id=client_id, client_secret=client_secret,
        refresh_token=refresh_token, source=source, settings=f"SOURCES__{source.upper()}__",
        session=session,
    )


def resources(api: AdAPI, start_date: str | None, lookback_days: int,
                 end_date: str | None) -> tuple[Any, Any]:
    """The platform's two resources: ``campaigns`` merged on ``id``, and
    ``campaign_stats_daily`` merged on ``STATS_KEY``, re-read from the lagged date cursor."""
    platform = api.platform

    # section: the platform's, as when these were defined in its module (dlt's config lookup)
    @dlt.resource(name="campaigns", section=platform.source, write_disposition="merge",
                  primary_key="id", columns=CAMPAIGN_COLUMNS)
    def campaigns() -> Iterator[Page]:
        yield from platform.read_campaigns(api)

    cursor_on_date = date_cursor(start_date, lookback_days, end_date)

    @dlt.resource(name="campaign_stats_daily", section=platform.source,
                  write_disposition="merge", primary_key=STATS_KEY,
                  columns=platform.stats_columns or STATS_COLUMNS)
    def campaign_stats_daily(
        cursor: dlt.sources.incremental[str] = cursor_on_date,
    ) -> Iterator[Page]:
        first, last = window(cursor, end_date)
        yield from platform.read_stats(api, first, last)

    return campaigns, campaign_stats_daily
