"""The sandbox's row-count reconciliation: zero expected rows equals a missing table.

dlt creates no table for a resource that never yielded a row, so an account without a single
refund has no ``raw_stripe.refunds``: that is the truth's 0 rows, and must publish. The real
multi-asset check runs in a real Dagster run, between assets standing in for the loads (they
write the draft) and the real ``published_warehouse`` asset.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

import json
from pathlib import Path

import duckdb
from dagster import AssetExecutionContext, AssetKey, DagsterInstance, asset, materialize

from orchestration.assets.publish import PUBLISHED_WAREHOUSE, build_publish_asset
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from sandbox.checks.reconciliation import build_row_count_checks, row_count_outcome


def test_zero_expected_rows_equal_a_missing_table():
    assert row_count_outcome("raw_stripe.refunds", 0, None) == (
        True, "raw_stripe.refunds: expected 0 rows, found no table (none expected: fine)")
    assert row_count_outcome("raw_stripe.refunds", 2, None) == (
        False, "raw_stripe.refunds: expected 2 rows, found no table")
    assert row_count_outcome("raw_stripe.refunds", 0, 0) == (
        True, "raw_stripe.refunds: expected 0 rows, found 0 rows")
    assert row_count_outcome("raw_stripe.refunds", 0, 1) == (
        False, "raw_stripe.refunds: expected 0 rows, found 1 rows")


def _load(name: str, rows: int):
    """An asset standing in for the Stripe resource ``name``: ``rows`` rows, no table for 0."""

    @asset(key=AssetKey(["stripe", name]), pool=WAREHOUSE_POOL)
    def load(context: AssetExecutionContext, warehouse: WarehouseResource) -> None:
        if not rows:
            return
        with duckdb.connect(str(warehouse.draft(context.run.run_id))) as con:
            con.execute("create schema if not exists raw_stripe")
            con.execute(f"create or replace table raw_stripe.{name} as select range as id from range({rows})")

    return load


def _run(tmp_path: Path, expected_refunds: int):
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "expected_counts.json").write_text(json.dumps({
        "as_of": "2025-05-01", "stripe": {"invoices": 3, "refunds": expected_refunds},
        "ga4": {"events": 0}, "ads": {}}))

    @asset(key=AssetKey(["ga4", "events"]), pool=WAREHOUSE_POOL)
    def ga4_events() -> None:
        """No GA4 export day yet: no table, 0 rows expected."""

    loads = [_load("invoices", 3), _load("refunds", 0), ga4_events]
    published = tmp_path / "warehouse" / "northstar.duckdb"
    result = materialize([*loads, build_row_count_checks(truth), build_publish_asset(loads)],
                         resources={"warehouse": WarehouseResource(path=str(published))},
                         instance=DagsterInstance.ephemeral(), raise_on_error=False)
    checks = {e.asset_key.to_user_string(): (e.passed, e.description)
              for e in result.get_asset_check_evaluations()}
    published_now = PUBLISHED_WAREHOUSE in {e.asset_key for e in result.get_asset_materialization_events()}
    return result.success, published_now, checks


def test_an_account_without_refunds_publishes(tmp_path):
    success, published, checks = _run(tmp_path, expected_refunds=0)
    assert checks == {
        "stripe/invoices": (True, "raw_stripe.invoices: expected 3 rows, found 3 rows"),
        "stripe/refunds": (True, "raw_stripe.refunds: expected 0 rows, found no table (none expected: fine)"),
        "ga4/events": (True, "raw_ga4.events: expected 0 rows, found no table (none expected: fine)"),
    }
    assert success and published


def test_a_missing_table_that_should_hold_rows_still_blocks(tmp_path):
    success, published, checks = _run(tmp_path, expected_refunds=2)
    assert checks["stripe/refunds"] == (False, "raw_stripe.refunds: expected 2 rows, found no table")
    assert not success and not published
