"""MRR, movements and active customers from the warehouse equal the sandbox's ground truth.

The truth (sandbox/truth.py) computes MRR from the simulator's own subscription
states; the dbt models rebuild it from what the Stripe API returns. Truth amounts are exact
fractions of a minor unit written with 4 decimals (half-even). The models keep 12 x MRR in
minor units as an exact decimal (``mrr_x12``: every normalisation factor is an integer at that
scale), so the comparison is exact: sum(mrr_x12) / 12 as a Fraction, rounded like the truth,
must equal the truth's string -- stricter than "to the minor unit". The mart (major units,
6 decimals per customer) is checked to within 0.01 of a minor unit: its only rounding is
the per-customer 6-decimal major amount (at most 0.5e-6 each).
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from sandbox.currency import exponent
from tests.dbt_helpers import failures, run_dbt

pytestmark = pytest.mark.slow

MOVEMENT_TYPES = ("new", "reactivation", "expansion", "contraction", "churn")
BILLING_SELECTION = ["+fct_subscription_changes", "+mrr_summary"]


def _fmt4(value: Fraction) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def _minor(x12: Decimal | str | None) -> str:
    """12 x MRR in minor units (exact decimal) -> the truth's 4-decimal minor-unit string."""
    return _fmt4(Fraction(Decimal(str(x12 or 0))) / 12)


def _truth(truth_dir: Path, name: str, mode: str = "forever") -> list[dict]:
    with (truth_dir / name).open() as handle:
        return [r for r in csv.DictReader(handle) if r.get("mrr_discounts", mode) == mode]


def _query(path: Path, sql: str) -> list[tuple]:
    # not read_only: dbt-duckdb keeps its own connection to the file open in this process, and
    # DuckDB refuses a second connection with a different configuration
    with duckdb.connect(str(path)) as con:
        return con.execute(sql).fetchall()


def _model_mrr(path: Path) -> dict[tuple[str, str], tuple[str, int]]:
    rows = _query(
        path,
        """
        select cast(month as varchar), currency, cast(sum(mrr_x12) as varchar), count(*) filter (where is_active)
        from intermediate.int_customer_mrr_monthly group by all
    """,
    )
    return {(month, cur): (_minor(x12), active) for month, cur, x12, active in rows}


def _model_movements(path: Path) -> dict[tuple[str, str, str], tuple[str, int]]:
    rows = _query(
        path,
        """
        select cast(month as varchar), currency, movement_type, cast(sum(mrr_change_x12) as varchar), count(*)
        from core.fct_subscription_changes group by all
    """,
    )
    return {(month, cur, kind): (_minor(x12), n) for month, cur, kind, x12, n in rows}


def _assert_mrr_matches(path: Path, truth_dir: Path, mode: str) -> None:
    truth = _truth(truth_dir, "mrr_monthly.csv", mode)
    assert truth, "no truth rows"
    model = _model_mrr(path)
    expected = {
        (r["month"], r["currency"]): (r["mrr_minor"], int(r["active_customers"])) for r in truth
    }
    got = {key: model.get(key, ("0.0000", 0)) for key in expected}
    assert got == expected
    # no MRR in a month or currency the truth does not know
    extra = {
        k: v for k, v in model.items() if k not in expected and k[0] <= max(m for m, _ in expected)
    }
    assert all(v == ("0.0000", 0) for v in extra.values()), extra


def _assert_movements_match(path: Path, truth_dir: Path, mode: str) -> None:
    truth = _truth(truth_dir, "mrr_movements_monthly.csv", mode)
    model = _model_movements(path)
    expected = {
        (r["month"], r["currency"], r["movement_type"]): (r["amount_minor"], int(r["customers"]))
        for r in truth
    }
    got = {key: model.get(key, ("0.0000", 0)) for key in expected}
    assert got == expected
    assert set(model) <= set(expected), set(model) - set(expected)


def test_monthly_mrr_per_currency_equals_truth(built_warehouse):
    _assert_mrr_matches(built_warehouse.path, built_warehouse.truth_dir, "forever")


def test_movements_per_type_and_month_equal_truth(built_warehouse):
    _assert_movements_match(built_warehouse.path, built_warehouse.truth_dir, "forever")


def test_active_and_moving_customers_per_month_equal_truth(built_warehouse):
    truth = _truth(built_warehouse.truth_dir, "customers_monthly.csv")
    rows = _query(
        built_warehouse.path,
        """
        select cast(month as varchar), ending_customers, new_customers, reactivated_customers,
               expanded_customers, contracted_customers, churned_customers
        from metrics.mrr_summary where currency_scope = 'reporting'
    """,
    )
    model = {r[0]: r[1:] for r in rows}
    for row in truth:
        expected = (
            int(row["active_customers"]),
            *(
                int(row[f"{k}_customers"])
                for k in ("new", "reactivation", "expansion", "contraction", "churn")
            ),
        )
        assert model[row["month"]] == expected, row["month"]


def test_mrr_summary_amounts_equal_truth_to_the_minor_unit(built_warehouse):
    """The mart's major-unit figures: ending MRR and every movement, per currency and in USD."""
    mrr = _truth(built_warehouse.truth_dir, "mrr_monthly.csv")
    moves = _truth(built_warehouse.truth_dir, "mrr_movements_monthly.csv")
    rows = _query(
        built_warehouse.path,
        """
        select cast(month as varchar), currency_scope, currency, ending_mrr, new_mrr, reactivation_mrr,
               expansion_mrr, contraction_mrr, churn_mrr
        from metrics.mrr_summary
    """,
    )
    model = {(m, scope, cur): values for m, scope, cur, *values in rows}
    usd_total: dict[str, Decimal] = defaultdict(Decimal)
    checked = 0
    for row in mrr:
        month, cur = row["month"], row["currency"]
        usd_total[month] += Decimal(row["mrr_usd"])
        got = model.get((month, "currency", cur))
        if got is None:
            assert Decimal(row["mrr_minor"]) == 0
            continue
        unit = Decimal(1).scaleb(-exponent(cur))
        truth_by_type = {
            r["movement_type"]: Decimal(r["amount_minor"]) * unit
            for r in moves
            if r["month"] == month and r["currency"] == cur
        }
        expected = [
            Decimal(row["mrr_minor"]) * unit,
            truth_by_type["new"],
            truth_by_type["reactivation"],
            truth_by_type["expansion"],
            -truth_by_type["contraction"],
            -truth_by_type["churn"],
        ]
        for value, want in zip(got, expected, strict=True):
            assert abs(value - want) < unit / 100, (month, cur, value, want)
        checked += 1
    assert checked >= 12
    for month, total in usd_total.items():
        got = model[(month, "reporting", "USD")][0]
        assert abs(got - total) < Decimal("0.0001"), (month, got, total)


@pytest.fixture(scope="module", params=["all", "none"])
def warehouse_with_discount_mode(request, loaded_warehouse, tmp_path_factory):
    """The billing models only, built with another mrr_discounts setting."""
    root = tmp_path_factory.mktemp(f"discounts_{request.param}")
    path = root / "northstar.duckdb"
    shutil.copy(loaded_warehouse.path, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(path))
        result = run_dbt(
            [
                "build",
                "--select",
                *BILLING_SELECTION,
                "--exclude",
                "test_type:data",
                "--vars",
                f"{{mrr_discounts: {request.param}}}",
            ],
            target_path=root / "target",
        )
    assert result.success, failures(result)
    return request.param, path, loaded_warehouse.truth_dir


def test_other_discount_modes_equal_truth(warehouse_with_discount_mode):
    mode, path, truth_dir = warehouse_with_discount_mode
    _assert_mrr_matches(path, truth_dir, mode)
    _assert_movements_match(path, truth_dir, mode)


def test_daily_series_on_month_ends_equals_monthly_truth(built_warehouse):
    """fct_mrr_daily at each month's last day is the month's MRR (value at its last instant)."""
    truth = _truth(built_warehouse.truth_dir, "mrr_monthly.csv")
    rows = _query(
        built_warehouse.path,
        """
        select cast(date_trunc('month', mrr_date) as date)::varchar, currency, cast(mrr_x12 as varchar),
               active_customers
        from core.fct_mrr_daily where mrr_date = last_day(mrr_date)
    """,
    )
    model = {(month, cur): (_minor(x12), n) for month, cur, x12, n in rows}
    expected = {
        (r["month"], r["currency"]): (r["mrr_minor"], int(r["active_customers"])) for r in truth
    }
    assert {k: model.get(k, ("0.0000", 0)) for k in expected} == expected
    days = _query(built_warehouse.path, "select count(distinct mrr_date) from core.fct_mrr_daily")[0][0]
    assert days >= 360


def test_cohort_sizes_equal_truth_first_paid_month_and_first_touch(built_warehouse):
    """Month-0 cohort sizes per first-touch channel: truth customer_conversions.csv."""
    with (built_warehouse.truth_dir / "customer_conversions.csv").open() as handle:
        conversions = [r for r in csv.DictReader(handle) if r["first_paid_month"]]
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for r in conversions:
        expected[(r["first_paid_month"], r["first_touch_channel"])] += 1
        expected[(r["first_paid_month"], "All channels")] += 1
    rows = _query(
        built_warehouse.path,
        """
        select cast(cohort_month as varchar), channel, cohort_customers, logo_retention
        from metrics.cohort_retention where months_since_start = 0
    """,
    )
    assert {(m, c): n for m, c, n, _ in rows} == dict(expected)
    assert all(retention == 1 for *_, retention in rows)
