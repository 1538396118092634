"""Anomaly suites: a series' latest value against its own recent history (WARN, not blocking).

dbt's tests say whether a row is possible; these say whether a number is unusual: the rows a
raw table received on its latest day against the 8 weeks of days before it (a double load, a
lost half-day), this week's trial sign-ups against the 8 weeks before, a day's ad spend
against the days before (a micros-for-units bug). The range is the history's min..max widened
by ``MARGIN`` of each bound, so that a growing business or a quiet Sunday is not news.

The history comes from the warehouse itself: a DataFrame of (period, value) read with one SQL
aggregate per series, days without rows counted as 0. The bounds are computed from it, and GX
checks the latest value against them as suite parameters (``$low``, ``$high``): its Data Docs
then show the bounds next to the value. An anomaly is news, not bad data: a WARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from orchestration.quality.docs import QualityDocs, gx_context
from orchestration.quality.frames import table_columns
from orchestration.quality.results import SuiteResult, show_value
from orchestration.quality.suite import OnTable

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

#: Widening of the history's range: [min x (1 - MARGIN), max x (1 + MARGIN)].
MARGIN = 0.25
HISTORY_DAYS = 56
HISTORY_WEEKS = 8


@dataclass(frozen=True)
class Series(OnTable):
    """One series of a table: its value per period, and how much history it is compared with."""

    name: str  # the suite's name, e.g. "volume_raw_ga4_events"
    table: str  # "<schema>.<table>" the series is computed from
    asset_key: tuple[str, ...]
    sql: str  # (period, value) rows; periods are days, or weeks given by their first day
    history: int  # periods before the latest that it is compared with
    daily: bool = True  # days without a row are 0 (a day with no rows is the anomaly)


def _daily_rows(name: str, table: str, asset_key: tuple[str, ...], day: str) -> Series:
    return Series(name=name, table=table, asset_key=asset_key, history=HISTORY_DAYS,
                  sql=f"select {day} as period, count(*) as value from {table} group by 1")


def _unix_day(column: str, per_second: int = 1) -> str:
    """A Unix time column as its UTC day (no session time zone involved)."""
    micros = f"{column} * {1_000_000 // per_second}" if per_second < 1_000_000 else column
    return f"cast(make_timestamp({micros}) as date)"


RAW_VOLUME: tuple[Series, ...] = (
    _daily_rows("volume_raw_ga4_events", "raw_ga4.events", ("ga4", "events"),
                _unix_day("event_timestamp", per_second=1_000_000)),
    _daily_rows("volume_raw_stripe_customers", "raw_stripe.customers", ("stripe", "customers"),
                _unix_day("created")),
    _daily_rows("volume_raw_stripe_invoices", "raw_stripe.invoices", ("stripe", "invoices"),
                _unix_day("created")),
    *(_daily_rows(f"volume_raw_{source}_campaign_stats_daily", f"raw_{source}.campaign_stats_daily",
                  (source, "campaign_stats_daily"), "date")
      for source in ("google_ads", "meta_ads", "linkedin_ads")),
)

KPI_SERIES: tuple[Series, ...] = (
    Series(name="anomaly_weekly_trial_signups", table="metrics.kpi_alerts", asset_key=("kpi_alerts",),
           history=HISTORY_WEEKS, daily=False,
           sql="select period_start as period, metric_value as value from metrics.kpi_alerts"
               " where metric = 'weekly_trial_signups' and period_start <= (select max(period_start)"
               " from metrics.kpi_alerts where metric = 'weekly_trial_signups' and is_latest_period)"),
    Series(name="anomaly_daily_ad_spend_usd", table="core.fct_ad_spend_daily", asset_key=("fct_ad_spend_daily",),
           history=HISTORY_DAYS,
           sql="select spend_date as period, sum(spend_amount_usd) as value from core.fct_ad_spend_daily"
               " group by 1"),
)

ANOMALY_SUITES: tuple[Series, ...] = RAW_VOLUME + KPI_SERIES


def history_frame(con: duckdb.DuckDBPyConnection, series: Series) -> pd.DataFrame:
    """The series' last ``history + 1`` periods, oldest first, as float values."""
    frame = con.execute(series.sql).df()
    if frame.empty:
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[ns]"), "value": pd.Series(dtype=float)})
    frame["period"] = pd.to_datetime(frame["period"])
    frame["value"] = frame["value"].astype(float)
    frame = frame.sort_values("period").set_index("period")
    if series.daily:
        frame = frame.asfreq("D", fill_value=0.0)
    return frame.tail(series.history + 1).reset_index()


def bounds(history: pd.Series) -> tuple[float, float]:
    """[min x (1 - MARGIN), max x (1 + MARGIN)] of the history (a negative min widens down)."""
    low, high = float(history.min()), float(history.max())
    return low - abs(low) * MARGIN, high + abs(high) * MARGIN


def _expectations() -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeBetween(column="value", min_value={"$PARAMETER": "low"},
                                              max_value={"$PARAMETER": "high"})]


def _note(series: Series, reason: str) -> SuiteResult:
    return SuiteResult(suite=series.name, table=series.table, passed=True, rows=0, note=reason)


def _day(value: pd.Timestamp) -> str:
    return date(value.year, value.month, value.day).isoformat()


def check_series(con: duckdb.DuckDBPyConnection, series: Series, docs: QualityDocs | None = None) -> SuiteResult:
    """The series' latest period against its history; ``rows`` is the periods compared with."""
    import great_expectations as gx

    if not table_columns(con, series.schema_name, series.table_name):
        return _note(series, f"table {series.table} does not exist: nothing to compare")
    frame = history_frame(con, series)
    if len(frame) < series.history + 1:
        unit = "days" if series.daily else "weeks"
        return _note(series, f"{len(frame)} {unit} of history, {series.history + 1} needed: nothing to compare")
    history, latest = frame.iloc[:-1], frame.iloc[-1:]
    low, high = bounds(history["value"])
    context = docs.context if docs is not None else gx_context()
    batch_definition = (context.data_sources.add_or_update_pandas(series.name)
                        .add_dataframe_asset(series.table).add_batch_definition_whole_dataframe("latest"))
    gx_suite = context.suites.add_or_update(gx.ExpectationSuite(name=series.name, expectations=_expectations()))
    validation = batch_definition.get_batch(batch_parameters={"dataframe": latest}).validate(
        gx_suite, expectation_parameters={"low": low, "high": high})
    if docs is not None:
        docs.record(series.name, f"latest_{_day(latest['period'].iloc[0])}", validation)
    value, period = float(latest["value"].iloc[0]), _day(latest["period"].iloc[0])
    if validation.success:
        return SuiteResult(suite=series.name, table=series.table, passed=True, rows=len(history))
    unit = "days" if series.daily else "weeks"
    line = (f"{period}: {show_value(value)} outside {show_value(round(low, 2))}..{show_value(round(high, 2))}"
            f" (the {len(history)} {unit} before: {show_value(float(history['value'].min()))}.."
            f"{show_value(float(history['value'].max()))}, widened by {MARGIN:.0%})")
    return SuiteResult(suite=series.name, table=series.table, passed=False, rows=len(history), failures=[line])
