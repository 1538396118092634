"""A run may not publish a number worse than the last published one (orchestration/checks/history.py;
on the sandbox judged by its truth, sandbox/checks/history.py).

Two layers. The comparison itself on two real DuckDB files (a published warehouse and a draft)
holding the two tables the check reads, ``mrr_summary`` and ``int_customer_mrr_monthly``, with
hand-computed numbers. Then the real check in a real Dagster run, between an asset writing the
draft's ``mrr_summary`` and the real ``published_warehouse`` asset: a moved closed month stops
the publish and the published file stays byte for byte the same.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

import hashlib
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import AssetExecutionContext, DagsterInstance, asset, materialize

from orchestration.assets.publish import PUBLISHED_WAREHOUSE, build_publish_asset
from orchestration.checks.history import (
    CHECK_NAME,
    TOLERANCE_SETTING,
    SettingError,
    build_history_check,
    compare_with_published,
    tolerance,
)
from orchestration.plugins import TRUTH_SETTING
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from sandbox.checks.history import truth_judge

#: (month, currency) -> (ending MRR in major units, ending customers, MRR x 12 in minor units)
FIRST = {
    ("2025-01-01", "usd"): ("100.00", 2, 120000),
    ("2025-01-01", "eur"): ("50.00", 1, 60000),
    ("2025-02-01", "usd"): ("150.00", 3, 180000),
    ("2025-03-01", "usd"): ("160.00", 3, 192000),  # the open month of the first publish
}


def _write(path: Path, numbers: dict) -> None:
    """A warehouse holding ``numbers``: one customer row per cell carries its whole MRR."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists metrics")
        con.execute("create schema if not exists intermediate")
        con.execute("create table metrics.mrr_summary (month date, currency_scope varchar, currency varchar, "
                    "ending_mrr decimal(38, 6), ending_customers bigint)")
        con.execute("create table intermediate.int_customer_mrr_monthly (customer_id varchar, month date, "
                    "currency varchar, mrr_x12 decimal(38, 6), is_active boolean)")
        for (month, currency), (mrr, customers, x12) in numbers.items():
            con.execute("insert into metrics.mrr_summary values (?, 'currency', ?, ?, ?)",
                        [month, currency, Decimal(mrr), customers])
            con.execute("insert into metrics.mrr_summary values (?, 'reporting', 'USD', ?, ?)",
                        [month, Decimal(mrr) * 2, customers])  # never compared: moves with FX
            for n in range(customers):
                con.execute("insert into intermediate.int_customer_mrr_monthly values (?, ?, ?, ?, true)",
                            [f"cus_{n}", month, currency, x12 if n == 0 else 0])


def _truth(folder: Path, cells: dict[tuple[str, str], tuple[str, int]]) -> Path:
    folder.mkdir()
    lines = ["month,currency,mrr_discounts,mrr_minor,active_customers"]
    lines += [f"{m},{c},{mode},{mrr},{n}" for (m, c), (mrr, n) in cells.items()
              for mode in ("forever", "none")]
    (folder / "mrr_monthly.csv").write_text("\n".join(lines) + "\n")
    return folder


def _compare(tmp_path: Path, draft_numbers: dict, truth: Path | None = None,
             share: Decimal = Decimal(0), published_numbers: dict | None = FIRST):
    tmp_path.mkdir(exist_ok=True)
    published, draft = tmp_path / "published.duckdb", tmp_path / "draft.duckdb"
    if published_numbers is not None:
        _write(published, published_numbers)
    _write(draft, draft_numbers)
    judge = truth_judge(truth) if truth is not None else None
    with duckdb.connect(str(draft)) as con:
        return compare_with_published(con, published, judge, share)


def test_an_unchanged_history_and_new_months_pass(tmp_path):
    later = {**FIRST, ("2025-03-01", "usd"): ("170.00", 3, 204000),  # the open month moved on
             ("2025-04-01", "usd"): ("175.00", 4, 210000)}  # a month new in the draft
    outcome = _compare(tmp_path, later)
    assert outcome.passed, outcome.description
    assert outcome.description == "3 closed month x currency cells equal the published warehouse"
    assert outcome.metadata["closed_cells"] == 3


def test_a_closed_month_that_moved_blocks_naming_month_currency_and_both_values(tmp_path):
    moved = {**FIRST, ("2025-02-01", "usd"): ("149.50", 3, 179400),
             ("2025-01-01", "eur"): ("50.00", 0, 0)}
    outcome = _compare(tmp_path, moved)
    assert not outcome.passed
    assert outcome.description == (
        f"2 published numbers of closed months moved beyond {TOLERANCE_SETTING}=0: "
        "2025-01-01 eur: ending customers 1 -> 0; "
        "2025-02-01 usd: ending MRR 150.000000 -> 149.500000")


def test_a_closed_month_missing_from_the_draft_is_a_move(tmp_path):
    gone = {k: v for k, v in FIRST.items() if k != ("2025-01-01", "eur")}
    outcome = _compare(tmp_path, gone)
    assert not outcome.passed
    assert "2025-01-01 eur: ending MRR 50.000000 -> 0" in outcome.description


def test_the_tolerance_is_a_share_of_the_published_value(tmp_path):
    moved = {**FIRST, ("2025-02-01", "usd"): ("149.90", 3, 179880)}  # 0.1 / 150 = 0.067 %
    assert _compare(tmp_path / "a", moved, share=Decimal("0.001")).passed
    assert not _compare(tmp_path / "b", moved, share=Decimal("0.0005")).passed


def test_tolerance_setting_is_read_and_a_bad_value_is_named():
    assert tolerance({}) == 0
    assert tolerance({TOLERANCE_SETTING: "0.002"}) == Decimal("0.002")
    for bad in ("abc", "-1", "nan"):
        with pytest.raises(SettingError, match=f"^{TOLERANCE_SETTING} must be a number >= 0"):
            tolerance({TOLERANCE_SETTING: bad})


def test_a_first_run_has_nothing_to_compare(tmp_path):
    outcome = _compare(tmp_path, FIRST, published_numbers=None)
    assert outcome.passed and outcome.description.startswith("first run")


def test_in_the_sandbox_a_number_farther_from_the_truth_blocks(tmp_path):
    """The published warehouse was exact for February; the draft is 25.00 USD (2,500 minor
    units) below the truth: the incremental nightly of issue 11, which was published."""
    truth = _truth(tmp_path / "truth", {("2025-01-01", "usd"): ("10000.0000", 2),
                                         ("2025-01-01", "eur"): ("5000.0000", 1),
                                         ("2025-02-01", "usd"): ("15000.0000", 3)})
    drifted = {**FIRST, ("2025-02-01", "usd"): ("125.00", 3, 150000)}
    outcome = _compare(tmp_path, drifted, truth)
    assert not outcome.passed
    assert outcome.description == (
        "1 number farther from the sandbox's truth than published: 2025-02-01 usd: "
        "MRR (minor units) published 15000.0000, draft 12500.0000, truth 15000.0000")
    assert outcome.metadata["mode"] == "sandbox"


def test_in_the_sandbox_a_number_moving_towards_the_truth_is_a_repair(tmp_path):
    """The published January missed a customer the draft now has: history moved, closer to
    the truth, and publishes."""
    truth = _truth(tmp_path / "truth", {("2025-01-01", "usd"): ("12000.0000", 3)})
    repaired = {**FIRST, ("2025-01-01", "usd"): ("120.00", 3, 144000)}
    outcome = _compare(tmp_path, repaired, truth)
    assert outcome.passed, outcome.description
    assert outcome.metadata == {"mode": "sandbox", "cells": 1, "worse": 0, "closer_to_truth": 2,
                                "history_moved": 2}


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_the_check_blocks_the_real_publish_in_a_dagster_run(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUTH_SETTING, raising=False)
    monkeypatch.delenv(TOLERANCE_SETTING, raising=False)
    published = tmp_path / "warehouse" / "northstar.duckdb"
    numbers: dict = {}

    @asset(name="mrr_summary", pool=WAREHOUSE_POOL)
    def mrr_summary(context: AssetExecutionContext, warehouse: WarehouseResource) -> None:
        """Stands in for dbt: writes ``numbers`` into the run's draft."""
        draft = warehouse.draft(context.run.run_id)
        with duckdb.connect(str(draft)) as con:
            con.execute("drop table if exists metrics.mrr_summary")
            con.execute("drop table if exists intermediate.int_customer_mrr_monthly")
        _write(draft, numbers)

    check = build_history_check()
    publish = build_publish_asset([mrr_summary])
    resources = {"warehouse": WarehouseResource(path=str(published))}

    def run():
        return materialize([mrr_summary, publish, check], resources=resources,
                           instance=DagsterInstance.ephemeral(), raise_on_error=False)

    numbers.update(FIRST)
    first = run()
    assert first.success and published.exists()
    before = _md5(published)

    numbers[("2025-02-01", "usd")] = ("149.00", 3, 178800)
    second = run()
    [evaluation] = second.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME and not evaluation.passed
    assert evaluation.description == (
        f"1 published number of closed months moved beyond {TOLERANCE_SETTING}=0: "
        "2025-02-01 usd: ending MRR 150.000000 -> 149.000000")
    assert not second.success
    materialized = {e.asset_key for e in second.get_asset_materialization_events()}
    assert PUBLISHED_WAREHOUSE not in materialized  # the check blocked the publish step
    assert _md5(published) == before

    monkeypatch.setenv(TOLERANCE_SETTING, "0.01")  # a deliberate restatement, let through once
    third = run()
    assert third.success
    assert _md5(published) != before
