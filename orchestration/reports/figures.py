"""The numbers the reports show, read from the published warehouse's marts.

Reports never compute a metric of their own (docs/metrics.md defines each once, in a mart):
they pick rows of the marts and add them up only where a mart's grain is finer than the
report's (currencies of ``fct_mrr_daily``, conversions of a day). Every date is relative to the
warehouse's own as-of, the last day of data (``dim_dates``, as ``kpi_alerts`` uses it), never to
the wall clock: a report of a given warehouse is the same on any day.

Tables are found by name in whatever schema holds them (the warehouse's layer schemas, or the
serving snapshot's ``core`` and ``metrics``), so the reports read either file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from ingestion.warehouse import connect

MARTS = ("dim_dates", "fct_mrr_daily", "fct_conversions", "fct_ad_spend_daily", "fct_sessions",
         "mrr_summary", "kpi_alerts", "kpi_thresholds", "channel_performance", "cohort_retention")
_PREFERRED_SCHEMAS = ("metrics", "core", "seeds")
WEEKS_SHOWN = 12
MONTHS_SHOWN = 12
COHORTS_SHOWN = 12
ALL_CHANNELS = "All channels"


class MissingMart(RuntimeError):
    """The published warehouse lacks a mart a report reads (a first build that failed early)."""


@dataclass(frozen=True)
class Kpi:
    metric: str
    description: str
    period_start: date
    period_grain: str
    value: Decimal
    status: str
    bound: Decimal | None
    operator: str | None


@dataclass(frozen=True)
class DigestFigures:
    """The daily digest's numbers for ``day``, the warehouse's last day of data."""

    day: date
    currency: str
    mrr: Decimal
    previous_mrr: Decimal | None  # the day before's; None when the data starts on ``day``
    active_customers: int
    new_trials: int
    new_customers: int
    churn_month: date
    churned_mrr: Decimal  # mrr_summary's churn of the month holding ``day`` (month to date)
    churned_customers: int
    kpis: list[Kpi]  # red and yellow KPIs of the latest complete periods, red first

    @property
    def mrr_change(self) -> Decimal | None:
        return None if self.previous_mrr is None else self.mrr - self.previous_mrr


@dataclass(frozen=True)
class Week:
    start: date
    mrr: Decimal  # at the end of the week's Sunday
    active_customers: int
    trials: int
    new_customers: int
    ad_spend: Decimal
    sessions: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)


@dataclass(frozen=True)
class WeeklyFigures:
    """The weekly executive report's numbers: the latest complete ISO week and those before."""

    data_through: date
    currency: str
    weeks: list[Week]  # oldest first; the last is the report's week
    daily_mrr: list[tuple[date, Decimal]]
    movements: list[dict]  # mrr_summary (reporting scope), the last MONTHS_SHOWN months
    channel_month: date
    channels: list[dict]  # channel_performance of channel_month
    cohorts: list[dict]  # cohort_retention, all channels, the last COHORTS_SHOWN cohorts
    kpis: list[Kpi] = field(default_factory=list)  # every KPI of its latest complete period

    @property
    def week(self) -> Week:
        return self.weeks[-1]

    @property
    def previous_week(self) -> Week | None:
        return self.weeks[-2] if len(self.weeks) > 1 else None


class Marts:
    """Named queries on one read-only connection to the published warehouse."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        found: dict[str, list[str]] = {}
        for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables").fetchall():
            found.setdefault(table, []).append(schema)
        missing = [name for name in MARTS if name not in found]
        if missing:
            raise MissingMart(f"the published warehouse has no {', '.join(missing)}: "
                              "no report until a build publishes the marts")
        self.relations = {name: f'"{_schema(found[name])}"."{name}"' for name in MARTS}

    def rows(self, sql: str, *params: object) -> list[dict]:
        cursor = self.con.execute(sql.format(**self.relations), list(params))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str, *params: object) -> dict:
        rows = self.rows(sql, *params)
        return rows[0] if rows else {}


def _schema(schemas: list[str]) -> str:
    return min(schemas, key=lambda s: _PREFERRED_SCHEMAS.index(s) if s in _PREFERRED_SCHEMAS else 99)


def read_digest(path: Path | None = None) -> DigestFigures:
    """The digest's figures from the warehouse at ``path`` (default: the published one)."""
    with connect(path) as con:
        return digest_figures(Marts(con))


def read_weekly(path: Path | None = None) -> WeeklyFigures:
    with connect(path) as con:
        return weekly_figures(Marts(con))


def data_through(marts: Marts) -> date:
    return marts.one("select max(date_day) as day from {dim_dates}")["day"]


def reporting_currency(marts: Marts) -> str:
    row = marts.one("select max(currency) as currency from {mrr_summary} where currency_scope = 'reporting'")
    return row.get("currency") or "USD"


def daily_mrr(marts: Marts, since: date, until: date) -> list[tuple[date, Decimal, int]]:
    """MRR (reporting currency) and paying customers at the end of each day, summed over the
    billing currencies of ``fct_mrr_daily`` (a customer bills in one)."""
    rows = marts.rows("select mrr_date, sum(mrr_amount_usd) as mrr, sum(active_customers) as customers "
                      "from {fct_mrr_daily} where mrr_date between ? and ? group by mrr_date "
                      "order by mrr_date", since, until)
    return [(r["mrr_date"], r["mrr"], int(r["customers"])) for r in rows]


def kpis(marts: Marts, statuses: tuple[str, ...] | None = None) -> list[Kpi]:
    """The KPIs of their latest complete period (``kpi_alerts``), red first, then by metric."""
    rows = marts.rows("select a.metric, t.description, a.period_start, a.period_grain, a.metric_value, "
                      "a.status, a.bound_crossed, a.bound_operator from {kpi_alerts} as a "
                      "left join {kpi_thresholds} as t on a.metric = t.metric "
                      "where a.is_latest_period")
    order = {"red": 0, "yellow": 1, "green": 2, "neutral": 3}
    found = [Kpi(r["metric"], r["description"] or r["metric"], r["period_start"], r["period_grain"],
                 r["metric_value"], r["status"], r["bound_crossed"], r["bound_operator"])
             for r in rows if statuses is None or r["status"] in statuses]
    return sorted(found, key=lambda k: (order.get(k.status, 9), k.metric))


def digest_figures(marts: Marts) -> DigestFigures:
    day = data_through(marts)
    series = daily_mrr(marts, day - timedelta(days=1), day)
    if not series or series[-1][0] != day:
        raise MissingMart(f"fct_mrr_daily has no row for {day}, the last day of dim_dates")
    conversions = {r["conversion_type"]: r["n"] for r in marts.rows(
        "select conversion_type, count(*) as n from {fct_conversions} where conversion_date = ? "
        "group by conversion_type", day)}
    month = day.replace(day=1)
    churn = marts.one("select churn_mrr, churned_customers from {mrr_summary} "
                      "where currency_scope = 'reporting' and month = ?", month)
    return DigestFigures(
        day=day, currency=reporting_currency(marts), mrr=series[-1][1],
        previous_mrr=series[0][1] if len(series) == 2 else None, active_customers=series[-1][2],
        new_trials=conversions.get("trial_start", 0), new_customers=conversions.get("paid", 0),
        churn_month=month, churned_mrr=churn.get("churn_mrr") or Decimal(0),
        churned_customers=int(churn.get("churned_customers") or 0),
        kpis=kpis(marts, ("red", "yellow")))


def weekly_figures(marts: Marts) -> WeeklyFigures:
    through = data_through(marts)
    # the latest complete ISO week: its Sunday is on or before the last day of data
    last_start = through - timedelta(days=through.weekday()) - timedelta(days=7 if through.weekday() < 6 else 0)
    first_start = last_start - timedelta(weeks=WEEKS_SHOWN - 1)
    mrr = {d: (m, c) for d, m, c in daily_mrr(marts, first_start - timedelta(days=1), last_start + timedelta(days=6))}
    by_week = _weekly_counts(marts, first_start, last_start + timedelta(days=6))
    weeks = []
    for offset in range(WEEKS_SHOWN):
        start = first_start + timedelta(weeks=offset)
        end_mrr, end_customers = mrr.get(start + timedelta(days=6), (None, 0))
        if end_mrr is None:
            continue  # before the data starts
        counts = by_week.get(start, {})
        weeks.append(Week(start, end_mrr, end_customers, counts.get("trials", 0),
                          counts.get("new_customers", 0), counts.get("ad_spend", Decimal(0)),
                          counts.get("sessions", 0)))
    if not weeks:
        raise MissingMart(f"the warehouse holds no complete week (data through {through})")
    channel_month = _last_complete_month(through)
    return WeeklyFigures(
        data_through=through, currency=reporting_currency(marts), weeks=weeks,
        daily_mrr=[(d, m) for d, (m, _) in sorted(mrr.items()) if d >= first_start],
        movements=marts.rows(
            "select month, starting_mrr, new_mrr, reactivation_mrr, expansion_mrr, contraction_mrr, "
            "churn_mrr, ending_mrr, net_revenue_retention, gross_revenue_retention from {mrr_summary} "
            "where currency_scope = 'reporting' and month <= ? order by month desc limit ?",
            channel_month, MONTHS_SHOWN)[::-1],
        channel_month=channel_month,
        channels=marts.rows(
            "select channel, spend_amount_usd, sessions, trials, new_customers, new_mrr_amount_usd, "
            "cac_usd, first_year_roas from {channel_performance} where month = ? "
            "order by spend_amount_usd desc, sessions desc, channel", channel_month),
        cohorts=marts.rows(
            "select cohort_month, months_since_start, cohort_customers, logo_retention, "
            "net_revenue_retention from {cohort_retention} where channel = ? and cohort_month in "
            "(select distinct cohort_month from {cohort_retention} where cohort_month <= ? "
            "order by cohort_month desc limit ?) order by cohort_month, months_since_start",
            ALL_CHANNELS, channel_month, COHORTS_SHOWN),
        kpis=kpis(marts))


def _weekly_counts(marts: Marts, since: date, until: date) -> dict[date, dict]:
    """Per ISO week: trials and new paying customers (fct_conversions), ad spend in the
    reporting currency (fct_ad_spend_daily) and GA4 sessions (fct_sessions)."""
    weeks: dict[date, dict] = {}
    queries = {
        "trials": "select conversion_week as week, count(*) as n from {fct_conversions} "
                  "where conversion_type = 'trial_start' and conversion_date between ? and ? group by 1",
        "new_customers": "select conversion_week as week, count(*) as n from {fct_conversions} "
                         "where conversion_type = 'paid' and conversion_date between ? and ? group by 1",
        "ad_spend": "select date_trunc('week', spend_date)::date as week, sum(spend_amount_usd) as n "
                    "from {fct_ad_spend_daily} where spend_date between ? and ? group by 1",
        "sessions": "select date_trunc('week', session_date)::date as week, count(*) as n "
                    "from {fct_sessions} where session_date between ? and ? group by 1",
    }
    for name, sql in queries.items():
        for row in marts.rows(sql, since, until):
            weeks.setdefault(row["week"], {})[name] = row["n"]
    return weeks


def _last_complete_month(through: date) -> date:
    """The first day of the latest month whose last day is on or before ``through``."""
    following = through + timedelta(days=1)
    if following.day == 1:
        return through.replace(day=1)
    return (through.replace(day=1) - timedelta(days=1)).replace(day=1)
