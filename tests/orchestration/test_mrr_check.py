"""The MRR reconciliation's verdicts on a hand-made warehouse and truth (no build needed).

Blocking: a cell that is not what Stripe's data can date (the observable truth, or, for the
subscriptions the truth lists as undatable, a value an earlier load may have seen). WARN: the
cells where the warehouse parts from what really happened, naming the undatable changes.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from sandbox.checks.mrr_reconciliation import compare

OBSERVABLE = [  # month, currency, mrr_minor, mrr_usd, active
    ("2026-08-01", "usd", "1583.3333", "15.833333", 1),
    ("2026-08-01", "eur", "4900.0000", "57.330000", 1),
    ("2026-09-01", "usd", "1583.3333", "15.833333", 1),
    ("2026-09-01", "eur", "4900.0000", "57.820000", 1),
]
#: what really happened: an annual plan upgraded on 2026-08-14 that no Stripe data dates
TRUE_USD = "4083.3333"
RATES = {("2026-08-01", "EUR"): "1.17", ("2026-09-01", "EUR"): "1.18"}


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def truth(tmp_path) -> Path:
    out = tmp_path / "truth"
    out.mkdir()
    rows = [{"month": m, "currency": c, "mrr_discounts": "forever", "mrr_minor": v, "mrr": "",
             "mrr_usd": usd, "active_customers": n} for m, c, v, usd, n in OBSERVABLE]
    _write(out / "mrr_monthly_observable.csv", rows)
    _write(out / "mrr_monthly.csv", [
        {**r, "mrr_minor": TRUE_USD, "mrr_usd": "40.833333"} if r["currency"] == "usd" else r
        for r in rows])
    _write(out / "mrr_undatable.csv", [
        {"month": m, "currency": "usd", "mrr_discounts": "forever", "subscription_id": "sub_annual",
         "customer_id": "cus_1", "mrr_minor": TRUE_USD, "observable_mrr_minor": "1583.3333",
         "knowable_mrr_minor": f"1583.3333;{TRUE_USD}", "undated_changes": "2026-08-14T21:15:43Z"}
        for m in ("2026-08-01", "2026-09-01")])
    _write(out / "fx_rates_monthly.csv", [
        {"month": m, "currency": c, "reporting_currency": "USD", "rate_date": "",
         "reporting_per_unit": RATES.get((m, c), "1")}
        for m in ("2026-08-01", "2026-09-01") for c in ("USD", "EUR")])
    return out


def _warehouse(x12: dict[tuple[str, str], int], rates: dict | None = None):
    """An int_customer_mrr_monthly with one customer per cell (12 x MRR in minor units)."""
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_customer_mrr_monthly (month date, currency varchar, "
                "mrr_x12 decimal(38, 6), is_active boolean, usd_per_unit decimal(38, 10))")
    for (month, cur), value in x12.items():
        rate = (rates or RATES).get((month, cur.upper()), "1")
        con.execute("insert into intermediate.int_customer_mrr_monthly values (?, ?, ?, true, ?)",
                    [month, cur, value, Decimal(rate)])
    return con


def _cells(usd_august: int = 19000, eur_september: int = 58800) -> dict[tuple[str, str], int]:
    """12 x MRR: the annual starter plan (19000 / 12 a month), or after the upgrade 49000."""
    return {("2026-08-01", "usd"): usd_august, ("2026-08-01", "eur"): 58800,
            ("2026-09-01", "usd"): 19000, ("2026-09-01", "eur"): eur_september}


def test_a_first_load_that_cannot_date_a_change_passes_and_warns_naming_it(truth):
    result = compare(_warehouse(_cells()), truth)
    assert result.cells == 4 and result.blocking == []
    assert len(result.undatable) == 2
    assert "2026-08-01 usd: truth 4083.3333" in result.undatable[0]
    assert "sub_annual changed 2026-08-14T21:15:43Z" in result.undatable[0]


def test_an_earlier_load_that_saw_the_change_may_know_the_true_value(truth):
    """An incremental pipeline that read the account in August dated the change: the cell is
    the truth's, and no longer a difference."""
    result = compare(_warehouse(_cells(usd_august=49000)), truth)
    assert result.blocking == []
    assert [line[:10] for line in result.undatable] == ["2026-09-01"]


def test_anything_else_blocks(truth):
    off_by_a_cent = compare(_warehouse(_cells(eur_september=58812)), truth)
    assert off_by_a_cent.blocking == [
        ("2026-09-01 eur: observable truth 4900.0000 minor units / 1 customers, "
         "warehouse 4901.0000 / 1")]
    half_way = compare(_warehouse(_cells(usd_august=31000)), truth)
    assert [line[:14] for line in half_way.blocking] == ["2026-08-01 usd"]


def test_the_reporting_currency_is_checked_to_a_ten_thousandth_of_a_cent(truth):
    wrong_rate = {**RATES, ("2026-09-01", "EUR"): "1.1800001"}
    result = compare(_warehouse(_cells(), wrong_rate), truth)
    assert result.blocking == [("2026-09-01 eur: observable truth 57.820000 in the reporting "
                                "currency, warehouse 57.820005")]
