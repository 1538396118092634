"""An account older than 2020 billing in USD, CAD and CHF: every month converts to the
reporting currency at the ECB's rates, exactly as the truth does, and a missing rate stops the
build in one line naming the currency and the month.

The world starts on 2017-01-01 and bills in USD, CAD and CHF (Canadian customers in CAD,
European ones in CHF); its ad accounts spend in USD, EUR and GBP. Rates come from the ECB
Data Portal the sandbox serves, loaded by the real ecb_fx source.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from orchestration.dbt_project import relation
from sandbox.currency import reporting_rate
from sandbox.simulation import simulate
from tests.dbt_helpers import failures, run_dbt
from tests.transformation.conftest import Warehouse, build, load_world
from tests.transformation.test_mrr_reconciliation import _assert_mrr_matches, _truth

pytestmark = pytest.mark.slow

# Seventeen months: long enough for every movement, and every plan change still dated by
# Stripe's 30 days of events or an invoice (the warehouse's MRR is then exact).
START, AS_OF = date(2017, 1, 1), date(2018, 6, 1)
CURRENCIES = ("usd", "cad", "chf")


@pytest.fixture(scope="module")
def old_account(tmp_path_factory) -> Warehouse:
    """The 2017 world loaded by every real source, after one ``dbt build`` (every data test)."""
    root = tmp_path_factory.mktemp("fx_history")
    sim = simulate(7, START, AS_OF, "small", root / "ga4", currencies=CURRENCIES)
    return build(load_world(sim, root), root / "target")


def _copy(warehouse: Warehouse, tmp_path) -> Warehouse:
    path = tmp_path / "northstar.duckdb"
    shutil.copy(warehouse.path, path)
    return Warehouse(path, warehouse.truth_dir, warehouse.sim)


def test_every_reporting_month_is_filled_and_equals_the_truth(old_account):
    months = old_account.query("select month, ending_mrr from metrics.mrr_summary where currency_scope = 'reporting' "
                               "order by month")
    assert [m for m, _ in months] == [date(2017 + (i // 12), i % 12 + 1, 1) for i in range(17)]
    assert all(value is not None for _, value in months)
    for table, column in (("int_customer_mrr_monthly", "mrr_amount_usd"), ("fct_mrr_daily", "mrr_amount_usd"),
                          ("fct_invoices", "revenue_amount_usd"), ("fct_ad_spend_daily", "spend_amount_usd")):
        [(rows, filled)] = old_account.query(f"select count(*), count({column}) from {relation(table)}")
        assert rows > 0 and filled == rows, table
    currencies = old_account.query("select distinct currency from intermediate.int_customer_mrr_monthly")
    assert {c for (c,) in currencies} == set(CURRENCIES)

    # MRR per month and currency exactly; in the reporting currency to 1e-4 (per-customer rounding)
    _assert_mrr_matches(old_account.path, old_account.truth_dir, "forever")
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in _truth(old_account.truth_dir, "mrr_monthly.csv"):
        expected[row["month"]] += Decimal(row["mrr_usd"])
    got = {m.isoformat(): v for m, v in months}
    assert len(expected) == 17 and sum(expected.values()) > 0
    assert all(abs(got[m] - v) < Decimal("0.0001") for m, v in expected.items()), [
        (m, got[m], v) for m, v in expected.items() if abs(got[m] - v) >= Decimal("0.0001")]


def test_monthly_rates_equal_the_truths_from_the_same_served_data(old_account):
    rows = old_account.query("select cast(month as varchar), currency, coalesce(cast(rate_date as varchar), ''), "
                             "reporting_per_unit from intermediate.int_fx_rates_monthly")
    model = {(m, c): (d, r) for m, c, d, r in rows}
    truth = _truth(old_account.truth_dir, "fx_rates_monthly.csv")
    assert {r["currency"] for r in truth} == {"USD", "CAD", "CHF", "EUR", "GBP"}
    assert {(r["month"], r["currency"]): (r["rate_date"], Decimal(r["reporting_per_unit"])) for r in truth} == {
        (r["month"], r["currency"]): model[(r["month"], r["currency"])] for r in truth}
    # the first Stripe object (the catalog) is dated December 2016: rates from then on
    assert min(m for m, _ in model) == "2016-12-01"
    assert {r for (_, c), (_, r) in model.items() if c == "USD"} == {Decimal(1)}


def test_a_missing_rate_fails_the_build_in_one_line_naming_currency_and_month(old_account, tmp_path):
    broken = _copy(old_account, tmp_path)
    broken.query("delete from raw_ecb_fx.daily_rates where currency = 'CAD' and date between '2017-03-01' and "
                 "'2017-03-31'")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(broken.path))
        result = run_dbt(["build", "--select", "+int_fx_rates_monthly+", "--exclude", "test_type:unit"],
                         target_path=tmp_path / "target")
    assert not result.success
    [line] = failures(result)
    assert line.startswith("model.northstar.int_fx_rates_monthly: error: ")
    assert line.endswith("no ECB rate for CAD in 2017-03"), line
    # nothing downstream is built from a NULL rate: every model reading the rates is skipped
    skipped = {r.node.unique_id for r in result.result.results if str(r.status) == "skipped"}
    assert {"model.northstar.int_customer_mrr_monthly", "model.northstar.fct_invoices",
            "model.northstar.int_ad_spend_daily", "model.northstar.mrr_summary"} <= skipped


def test_another_reporting_currency_converts_at_exactly_one(old_account, tmp_path):
    chf = _copy(old_account, tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(chf.path))
        result = run_dbt(["run", "--select", "int_fx_rates_monthly", "--vars", "{reporting_currency: chf}"],
                         target_path=tmp_path / "target")
    assert result.success, failures(result)
    rows = chf.query("select month, currency, reporting_currency, reporting_per_unit "
                     "from intermediate.int_fx_rates_monthly "
                     "where month < date '2018-06-01'")
    assert {r for _, _, r, _ in rows} == {"CHF"}
    assert all(rate == 1 for _, c, _, rate in rows if c == "CHF")
    assert all(rate == reporting_rate(c, m, AS_OF, reporting="CHF") for m, c, _, rate in rows), [
        (m, c, rate, reporting_rate(c, m, AS_OF, reporting="CHF")) for m, c, _, rate in rows
        if rate != reporting_rate(c, m, AS_OF, reporting="CHF")][:3]
