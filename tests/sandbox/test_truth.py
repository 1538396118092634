"""Ground truth: docs/metrics.md's MRR rules on hand-computed cases, and its invariants."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest

from sandbox.currency import exponent
from sandbox.simulation.billing import Discount, Item, SubState
from sandbox.simulation.stripe_catalog import build_catalog
from sandbox.truth import subscription_mrr

CATALOG = build_catalog(1, 0)


def _state(status, *items, coupon=None):
    discount = Discount("di_1", coupon, 0, None) if coupon else None
    return SubState(status, tuple(Item(f"si_{i}", k, q) for i, (k, q) in enumerate(items)), discount, 0, 1)


def _mrr(state, mode="forever"):
    return subscription_mrr(state, CATALOG.price_refs, CATALOG.coupon_objects, mode)


@pytest.mark.parametrize(("state", "expected"), [
    (_state("active", ("starter_month_usd", 1)), Fraction(1900)),
    (_state("past_due", ("professional_month_usd", 3)), Fraction(14700)),
    (_state("active", ("starter_year_usd", 1)), Fraction(19000, 12)),  # 1583.33...
    (_state("active", ("business_month_jpy", 2)), Fraction(29800)),  # yen: minor unit = major unit
    (_state("trialing", ("business_month_usd", 1)), Fraction(0)),
    (_state("canceled", ("business_month_usd", 1)), Fraction(0)),
    (_state("incomplete", ("business_month_usd", 1)), Fraction(0)),
    (_state("active", ("business_month_usd", 2), ("api_calls_usd", None)), Fraction(19800)),  # metered excluded
    (_state("active", ("professional_month_usd", 1), coupon="LAUNCH20"), Fraction(4900 * 8, 10)),
    (_state("active", ("professional_month_eur", 1), coupon="PARTNER12_5"), Fraction(4900) * Fraction(875, 1000)),
    (_state("active", ("professional_year_usd", 1), coupon="FLAT5_USD"), Fraction(49000, 12) - Fraction(500, 12)),
    (_state("active", ("starter_month_usd", 1), coupon="WELCOME50"), Fraction(1900)),  # once: not under forever
])
def test_subscription_mrr_follows_metrics_md(state, expected):
    assert _mrr(state) == expected


def test_discount_modes():
    once = _state("active", ("starter_month_usd", 1), coupon="WELCOME50")
    repeating_amount = _state("active", ("starter_month_gbp", 1), coupon="TENOFF6_GBP")
    forever = _state("active", ("starter_month_usd", 1), coupon="LAUNCH20")
    assert [_mrr(once, m) for m in ("forever", "all", "none")] == [1900, 950, 1900]
    assert [_mrr(repeating_amount, m) for m in ("forever", "all", "none")] == [1500, 700, 1500]
    assert [_mrr(forever, m) for m in ("forever", "all", "none")] == [1520, 1520, 1900]
    # an amount coupon larger than the price floors at zero
    assert _mrr(_state("active", ("starter_month_jpy", 1), coupon="TENOFF6_JPY"), "all") == 0 + max(2900 - 1500, 0)


def _read(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_movements_sum_to_the_mrr_change_every_month_currency_and_mode(small_truth):
    mrr = {(r["month"], r["currency"], r["mrr_discounts"]): Decimal(r["mrr_minor"])
           for r in _read(small_truth / "mrr_monthly.csv")}
    moves = defaultdict(Decimal)
    kinds = defaultdict(set)
    for r in _read(small_truth / "mrr_movements_monthly.csv"):
        moves[(r["month"], r["currency"], r["mrr_discounts"])] += Decimal(r["amount_minor"])
        if int(r["customers"]):
            kinds[r["mrr_discounts"]].add(r["movement_type"])
    months = sorted({k[0] for k in mrr})
    assert len(months) == 12
    checked = 0
    for (month, cur, mode), ending in mrr.items():
        i = months.index(month)
        starting = mrr[(months[i - 1], cur, mode)] if i else Decimal(0)
        # each customer's movement is rounded to 4 places, so allow that rounding per row
        assert abs(starting + moves[(month, cur, mode)] - ending) < Decimal("0.01"), (month, cur, mode)
        checked += 1
    assert checked == 12 * 4 * 3
    assert kinds["forever"] == {"new", "reactivation", "expansion", "contraction", "churn"}


def test_usd_is_minor_units_over_the_exponent_times_that_months_rate(small_truth):
    rates = {(r["month"], r["currency"].lower()): Decimal(r["reporting_per_unit"])
             for r in _read(small_truth / "fx_rates_monthly.csv")}
    assert {c for _, c in rates} == {"usd", "eur", "gbp", "jpy"}
    assert all(rate == 1 for (_, c), rate in rates.items() if c == "usd")  # the reporting currency
    for r in _read(small_truth / "mrr_monthly.csv"):
        major = Decimal(r["mrr_minor"]).scaleb(-exponent(r["currency"]))
        assert abs(Decimal(r["mrr"]) - major) < Decimal("0.000001")
        assert abs(Decimal(r["mrr_usd"]) - major * rates[(r["month"], r["currency"])]) < Decimal("0.00001")


def test_conversions_and_counts(small_sim, small_truth):
    conversions = _read(small_truth / "customer_conversions.csv")
    assert len(conversions) == len(small_sim.world.stripe["customers"])
    channels = {r["first_touch_channel"] for r in conversions}
    assert {"Organic Search", "Paid Search", "Paid Social", "Direct", "Email", "Referral"} <= channels
    paid = [r for r in conversions if r["first_paid_month"]]
    assert paid and all(r["first_paid_at"] and r["first_paid_at"] >= r["trial_started_at"] for r in paid)
    assert all(r["first_touch_at"] <= r["signed_up_at"] for r in conversions)
    counts = json.loads((small_truth / "expected_counts.json").read_text())
    assert counts["stripe"] == {k: len(v) for k, v in small_sim.world.stripe.items()}
    assert counts["ga4"]["files"] == 365 and counts["ga4"]["events"] == small_sim.ga4.events
    spend = _read(small_truth / "ad_spend_daily.csv")
    assert len(spend) == sum(v["daily_rows"] for v in counts["ads"].values())


def test_exponent_seed_matches_the_sandbox():
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    exponents = {r["currency"]: int(r["exponent"]) for r in _read(root / "seeds/currency_exponents.csv")}
    assert exponents["JPY"] == 0 and exponents["KWD"] == 3 and "USD" not in exponents
    assert all(exponent(c) == e for c, e in exponents.items())
