"""Core dimensions / facts and KPI alerts, reconciled with the sandbox's own truth.

dim_customers and fct_invoices are checked row by row against what the simulator knows
(customer_conversions.csv, the invoices it served); kpi_alerts is checked against values
recomputed here in Python from the truth files, and its statuses against the threshold seed.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from sandbox.currency import exponent

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
SIX = Decimal("0.000001")
METRICS = (
    "weekly_trial_signups",
    "trial_to_paid_conversion_rate",
    "monthly_logo_churn_rate",
    "blended_cac_usd",
    "landing_page_conversion_rate",
    "mrr_growth_rate",
)
# a year of data ending 2025-12-31: the last complete ISO week starts Monday 2025-12-22; the
# last trial cohort whose 30-day conversion window has closed is November
LAST_PERIOD = {metric: date(2025, 12, 1) for metric in METRICS} | {
    "weekly_trial_signups": date(2025, 12, 22),
    "trial_to_paid_conversion_rate": date(2025, 11, 1),
}


def _csv(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


def _ratio(numerator, denominator) -> Decimal:
    return (Decimal(numerator) / Decimal(denominator)).quantize(SIX, ROUND_HALF_UP)


def _kpis(warehouse) -> dict[tuple[str, date], tuple[Decimal, str, Decimal | None]]:
    rows = warehouse.query(
        "select metric, period_start, metric_value, status, bound_crossed from metrics.kpi_alerts"
    )
    return {(m, p): (v, s, b) for m, p, v, s, b in rows}


def _fx(truth_dir: Path) -> dict[tuple[str, date], Decimal]:
    """The truth's monthly USD rates (from the ECB rates the sandbox served)."""
    return {
        (r["currency"].lower(), date.fromisoformat(r["month"])): Decimal(r["reporting_per_unit"])
        for r in _csv(truth_dir / "fx_rates_monthly.csv")
    }


def _expected_status(value: Decimal, threshold: dict) -> tuple[str, Decimal | None]:
    """The seed's rule, strict bounds: red, else yellow, else green, else neutral."""
    sign = 1 if threshold["direction"] == "higher_is_better" else -1
    bounds = {
        k: Decimal(threshold[f"{k}_bound"]) if threshold[f"{k}_bound"] else None
        for k in ("red", "yellow", "green")
    }
    for status in ("red", "yellow"):
        if bounds[status] is not None and sign * value < sign * bounds[status]:
            return status, bounds[status]
    if bounds["green"] is not None and sign * value > sign * bounds["green"]:
        return "green", bounds["green"]
    return "neutral", None


def test_dim_customers_cohort_and_first_touch_match_truth(built_warehouse):
    truth = {
        r["customer_id"]: r for r in _csv(built_warehouse.truth_dir / "customer_conversions.csv")
    }
    model = {
        c: (str(m) if m else "", ch, a)
        for c, m, ch, a in built_warehouse.query(
            "select customer_id, cohort_month, first_touch_channel, is_active from core.dim_customers"
        )
    }
    assert set(model) == set(truth)
    assert sum(1 for t in truth.values() if t["first_paid_month"]) > 50  # the check has teeth
    wrong_cohort = [c for c, t in truth.items() if model[c][0] != t["first_paid_month"]]
    wrong_channel = [c for c, t in truth.items() if model[c][1] != t["first_touch_channel"]]
    assert not wrong_cohort, wrong_cohort[:5]
    assert not wrong_channel, wrong_channel[:5]
    # customers active now = truth's active customers at the last month end
    last = _csv(built_warehouse.truth_dir / "customers_monthly.csv")[-1]
    assert sum(1 for *_, active in model.values() if active) == int(last["active_customers"])


def test_fct_invoices_revenue_ties_to_the_invoices_stripe_served(built_warehouse):
    served = {i["id"]: i for i in built_warehouse.sim.world.stripe["invoices"]}
    fx = _fx(built_warehouse.truth_dir)
    rows = built_warehouse.query(
        """
        select invoice_id, currency, invoice_month, subtotal_minor, discount_minor, tax_minor, total_minor,
            amount_paid_minor, revenue_minor, revenue_amount, revenue_amount_usd, status
        from core.fct_invoices
        """
    )
    assert {r[0] for r in rows} == set(served)
    revenue_by_currency: Counter = Counter()
    for (
        invoice_id,
        currency,
        month,
        subtotal,
        discount,
        tax,
        total,
        paid,
        revenue,
        revenue_major,
        revenue_usd,
        status,
    ) in rows:
        raw = served[invoice_id]
        assert (subtotal, tax, total, paid, status) == (
            raw["subtotal"],
            raw["tax"] or 0,
            raw["total"],
            raw["amount_paid"],
            raw["status"],
        ), invoice_id
        assert revenue == raw["total"] - (raw["tax"] or 0) == raw["total_excluding_tax"], invoice_id
        assert discount == raw["subtotal"] - raw["total_excluding_tax"], invoice_id
        major = Decimal(revenue).scaleb(-exponent(currency.upper()))
        assert revenue_major == major, invoice_id
        assert revenue_usd == (major * fx[(currency, month)]).quantize(SIX, ROUND_HALF_UP), (
            invoice_id
        )
        revenue_by_currency[currency] += revenue
    expected: Counter = Counter()
    for raw in served.values():
        expected[raw["currency"].lower()] += raw["total"] - (raw["tax"] or 0)
    assert revenue_by_currency == expected
    assert sum(r[5] for r in rows) > 0  # there is tax to exclude


def test_kpi_alerts_cover_every_metric_up_to_the_last_complete_period(built_warehouse):
    latest = dict(
        built_warehouse.query(
            "select metric, max(period_start) from metrics.kpi_alerts group by metric"
        )
    )
    assert latest == LAST_PERIOD
    flagged = dict(
        built_warehouse.query(
            "select metric, period_start from metrics.kpi_alerts where is_latest_period"
        )
    )
    assert flagged == LAST_PERIOD


def test_kpi_statuses_follow_the_threshold_seed(built_warehouse):
    seed = {r["metric"]: r for r in _csv(SEEDS / "kpi_thresholds.csv")}
    assert set(seed) == set(METRICS)
    statuses = Counter()
    for (metric, period), (value, status, bound) in _kpis(built_warehouse).items():
        assert (status, bound) == _expected_status(value, seed[metric]), (metric, period, value)
        statuses[status] += 1
    assert {"red", "green", "neutral"} <= set(statuses)


def test_kpi_values_equal_truth(built_warehouse):
    truth_dir = built_warehouse.truth_dir
    kpis = _kpis(built_warehouse)
    conversions = _csv(truth_dir / "customer_conversions.csv")

    # monthly logo churn = churned / active at the end of the previous month
    months = _csv(truth_dir / "customers_monthly.csv")
    checked = 0
    for prev, cur in pairwise(months):
        if int(prev["active_customers"]):
            key = ("monthly_logo_churn_rate", date.fromisoformat(cur["month"]))
            assert kpis[key][0] == _ratio(cur["churn_customers"], prev["active_customers"]), key
            checked += 1
    assert checked == 11

    # weekly trial sign-ups: trials per ISO week (Monday start), zero weeks included
    trials = Counter()
    for r in conversions:
        day = _ts(r["trial_started_at"]).date()
        trials[day - timedelta(days=day.weekday())] += 1
    weeks = [(m, p) for m, p in kpis if m == "weekly_trial_signups"]
    assert len(weeks) == 51  # Mon 2025-01-06 .. Mon 2025-12-22
    for key in weeks:
        assert kpis[key][0] == trials[key[1]], key

    # trial-to-paid: trials of the month (cohort = trial month) paid within 30 days of the trial
    cohorts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for r in conversions:
        started = _ts(r["trial_started_at"])
        cohort = cohorts[started.date().replace(day=1)]
        cohort[0] += 1
        cohort[1] += bool(r["first_paid_at"]) and _ts(r["first_paid_at"]) <= started + timedelta(
            days=30
        )
    reported = sorted(p for m, p in kpis if m == "trial_to_paid_conversion_rate")
    assert reported == sorted(m for m in cohorts if m < date(2025, 12, 1))
    for month in reported:
        trials_, converted = cohorts[month]
        assert kpis[("trial_to_paid_conversion_rate", month)][0] == _ratio(converted, trials_), (
            month
        )

    # blended CAC: all ad spend in USD (month's FX rate) / customers whose first paid month it is
    fx = _fx(truth_dir)
    spend: Counter = Counter()
    for r in _csv(truth_dir / "ad_spend_daily.csv"):
        day = date.fromisoformat(r["date"])
        spend[day.replace(day=1)] += (
            Decimal(r["spend"]) * fx[(r["currency"].lower(), day.replace(day=1))]
        )
    paid = Counter(
        date.fromisoformat(r["first_paid_month"]) for r in conversions if r["first_paid_month"]
    )
    for month, count in paid.items():
        value = kpis[("blended_cac_usd", month)][0]
        assert abs(value - spend[month] / count) < Decimal("0.0001"), month

    # MRR growth from the truth's month-end MRR; mrr_summary converts both months at the later
    # month's FX rate (constant currency: FX moves are not growth)
    mrr = defaultdict(Decimal)
    for r in _csv(truth_dir / "mrr_monthly.csv"):
        if r["mrr_discounts"] == "forever":
            mrr[(r["currency"], date.fromisoformat(r["month"]))] += Decimal(r["mrr"])
    months_ = sorted({m for _, m in mrr})
    currencies = {c for c, _ in mrr}
    for prev, cur in pairwise(months_):
        start = sum(mrr[(c, prev)] * fx[(c, cur)] for c in currencies)
        end = sum(mrr[(c, cur)] * fx[(c, cur)] for c in currencies)
        value = kpis[("mrr_growth_rate", cur)][0]
        assert abs(value - (end - start) / start) < Decimal("0.00001"), cur
