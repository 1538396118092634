"""A young, simple Stripe account builds every model: no customer address, no price lookup
key, no invoice tax, no coupon, no refund, no trial, one currency (USD).

dlt creates no column for a field that is null on every object, nor a table for a resource
with no object: the Stripe source declares its columns (ingestion/sources/stripe_columns.py)
and materializes empty tables, so staging finds every column it reads. The sandbox's
``minimal`` scale (catalog.MINIMAL_ACCOUNT) is such an account.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from sandbox.simulation import simulate
from sandbox.truth import Truth
from tests.transformation.conftest import Warehouse, build, load_world
from tests.transformation.test_mrr_reconciliation import (
    _assert_movements_match,
    _assert_mrr_matches,
)

pytestmark = pytest.mark.slow

START, AS_OF = date(2025, 1, 1), date(2025, 7, 1)


@pytest.fixture(scope="module")
def minimal(tmp_path_factory) -> Warehouse:
    """Six months of a minimal account, loaded by every source, then one whole-project build."""
    root = tmp_path_factory.mktemp("minimal")
    return build(load_world(simulate(5, START, AS_OF, "minimal", root / "ga4"), root), root / "target")


def test_the_account_leaves_every_optional_field_unset(minimal):
    """The premise: each field below is null (or each table empty) on every raw row."""
    counts = {
        "customers with an address": "select count(address__country) from raw_stripe.customers",
        "prices with a lookup key": "select count(lookup_key) from raw_stripe.prices",
        "coupons": "select count(*) from raw_stripe.coupons",
        "refunds": "select count(*) from raw_stripe.refunds",
        "subscriptions on trial": "select count(trial_start) from raw_stripe.subscriptions",
        "discounted invoices": "select count(discount__id) from raw_stripe.invoices",
        "taxed invoices":
            "select count(*) from raw_stripe.invoices where total <> total_excluding_tax",
        "non-USD prices": "select count(*) from raw_stripe.prices where currency <> 'usd'",
    }
    assert {name: minimal.query(sql)[0][0] for name, sql in counts.items()} == dict.fromkeys(
        counts, 0
    )
    assert minimal.query("select count(*) from raw_stripe.subscriptions")[0][0] > 20


def test_monthly_mrr_and_movements_equal_truth_exactly(minimal):
    """12 x MRR is exact in the models: compared as a Fraction, like the reconciliation."""
    _assert_mrr_matches(minimal.path, minimal.truth_dir, "forever")
    _assert_movements_match(minimal.path, minimal.truth_dir, "forever")


def test_mrr_summary_equals_truth_exactly(minimal):
    """The mart's ending MRR per month is each customer's MRR rounded (half up) to 6 decimals
    of a dollar, its only rounding, summed: computed from the truth's per-customer MRR."""
    catalog = minimal.sim.stripe_catalog
    truth = Truth(minimal.sim, catalog.price_refs, catalog.coupon_objects)
    months = [month.isoformat() for month in truth.months]
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for per_month in truth.customer_mrr("forever").values():
        for month, minor in zip(months, per_month, strict=True):
            dollars = Fraction(minor) / 100
            exact = Decimal(dollars.numerator) / Decimal(dollars.denominator)
            expected[month] += exact.quantize(Decimal("0.000001"), ROUND_HALF_UP)
    rows = minimal.query(
        "select cast(month as varchar), currency_scope, currency, ending_mrr from metrics.mrr_summary"
    )
    got = {(m, scope, cur): mrr for m, scope, cur, mrr in rows}
    assert {m: got.get((m, "currency", "usd"), Decimal(0)) for m in months} == dict(expected)
    assert {m: got.get((m, "reporting", "USD"), Decimal(0)) for m in months} == dict(expected)
    assert expected[months[-1]] > 0
