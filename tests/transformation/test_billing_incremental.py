"""Billing, incremental: int_subscription_mrr_daily built run after run, as the nightly builds it,
equals a full refresh row for row.

The sandbox's Stripe account (seed 11, small scale) is served and loaded by the real Stripe
pipeline as of several days in turn: Dec 10, 11 and 13 2025 (one customer, whose subscription
ended in July, subscribes again on Dec 12: a reactivation), Dec 20 and Jan 1 2026. Each load is
incremental (Stripe's events since the last one), and each is followed by a `dbt run` of the
model and everything upstream of it. Only this model keeps state between runs: everything
downstream of it is rebuilt from it, so its rows decide every billing mart's.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.run import ingest
from sandbox.client_env import source_env
from sandbox.server import start_server
from sandbox.simulation import simulate
from tests.dbt_helpers import failures, run_dbt

pytestmark = pytest.mark.slow  # loads and builds a warehouse five times

SEED, START = 11, date(2025, 1, 1)
AS_OF = (date(2025, 12, 10), date(2025, 12, 11), date(2025, 12, 13), date(2025, 12, 20), date(2026, 1, 1))
REACTIVATED = "cus_oqtTZrRU3277Fn"  # subscription ended 2025-07-28, a new one from 2025-12-12
MODEL = "intermediate.int_subscription_mrr_daily"
SELECT = ["--select", "+int_subscription_mrr_daily"]


def _load_stripe(sandbox_dir: Path, as_of: date, warehouse: Path) -> None:
    sim = simulate(SEED, START, as_of, "small", sandbox_dir / "ga4")
    server = start_server(sim.world, port=0)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
            for key, value in source_env(server.base_url, START, as_of).items():
                patch.setenv(key, value)
            (result,) = ingest(["stripe"])
    finally:
        server.shutdown()
    assert result.status == "loaded", result.line()


def _dbt_run(warehouse: Path, target: Path, *args: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
        result = run_dbt(["run", *SELECT, *args], target_path=target)
    assert result.success, failures(result)


COLUMNS = ("subscription_id, customer_id, customer_load_id, currency, snapshot_date, status, is_live, "
           "gross_mrr_x12, mrr_x12, mrr_minor")


def _rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(f"select {COLUMNS} from {MODEL} order by subscription_id, snapshot_date").fetchall()


def _execute(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Load and run as of each day in turn. Before the last run, one stored row of a customer
    that run has no reason to recompute (its only subscription ended in the summer) is marked
    (mrr_x12 = -1), to see whether the run rewrote it. Then a full refresh of a copy."""
    root = tmp_path_factory.mktemp("billing_incremental")
    warehouse, target = root / "northstar.duckdb", root / "target"
    after = []
    marked = None
    for number, as_of in enumerate(AS_OF):
        if number == len(AS_OF) - 1:
            (marked,) = _execute(warehouse, f"""
                select subscription_id, min(snapshot_date), customer_id, arg_min(mrr_x12, snapshot_date)
                from {MODEL}
                where customer_id in (
                    select customer_id from {MODEL} group by customer_id
                    having count(distinct subscription_id) = 1
                        and max(case when is_live then snapshot_date end) < date '2025-09-01')
                    and mrr_x12 > 0
                group by subscription_id, customer_id
                order by subscription_id limit 1""")
            _execute(warehouse, f"update {MODEL} set mrr_x12 = -1 "
                                f"where subscription_id = '{marked[0]}' and snapshot_date = '{marked[1]}'")
        _load_stripe(root / f"sandbox{number}", as_of, warehouse)
        _dbt_run(warehouse, target)
        after.append(_rows(warehouse))
    run_sql = next((target / "run").rglob("int_subscription_mrr_daily.sql")).read_text().lower()
    (marked_now,) = _execute(warehouse, f"select mrr_x12 from {MODEL} where subscription_id = "
                                        f"'{marked[0]}' and snapshot_date = '{marked[1]}'")[0]
    loads = _execute(warehouse, "select customer_id, last_load_id from intermediate.int_customer_billing_loads")
    # put the marked row back before comparing
    _execute(warehouse, f"update {MODEL} set mrr_x12 = {marked[3]} "
                        f"where subscription_id = '{marked[0]}' and snapshot_date = '{marked[1]}'")
    incremental = _rows(warehouse)
    full_path = root / "full" / "northstar.duckdb"
    full_path.parent.mkdir()
    # dbt, run in this process, keeps the file open: write its log into the file before copying
    _execute(warehouse, "force checkpoint")
    shutil.copy(warehouse, full_path)
    _dbt_run(full_path, root / "full_target", "--full-refresh")
    return {"after": after, "incremental": incremental, "full": _rows(full_path), "run_sql": run_sql,
            "marked": marked, "marked_now": marked_now, "loads": dict(loads)}


def test_every_row_equals_a_full_refresh(runs):
    assert len(runs["full"]) > 10_000
    assert len(runs["incremental"]) == len(runs["full"])  # no row twice (a set would hide it)
    differing = set(runs["incremental"]).symmetric_difference(runs["full"])
    assert not differing, f"{len(differing)} rows differ from the full refresh, e.g. {sorted(differing)[:3]}"


def test_each_run_after_the_first_was_incremental_and_left_unchanged_customers_alone(runs):
    assert "delete from" in runs["run_sql"]
    subscription_id, _, customer_id, mrr_x12 = runs["marked"]
    assert mrr_x12 > 0
    # the last load did not touch the customer, so the last run did not rewrite its old rows
    assert runs["marked_now"] == -1, (subscription_id, runs["marked_now"])
    # and customers were last computed at different loads
    assert len(set(runs["loads"].values())) >= 3


def test_the_reactivation_counts_from_its_new_subscription(runs):
    """The customer's first subscription was live until it ended in July; the run that first
    loads the new one (created Dec 12) adds it, and the later runs carry it, live from Dec 12
    to the end, as the full refresh does."""
    def subscriptions(rows) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {}
        for row in rows:
            if row[1] == REACTIVATED:
                out.setdefault(row[0], []).append((row[4], row[5]))
        return out

    before, loaded = subscriptions(runs["after"][1]), subscriptions(runs["after"][2])
    (first,) = before
    assert max(day for day, status in before[first] if status == "active") == date(2025, 7, 27)
    (new,) = set(loaded) - {first}
    assert min(day for day, _ in loaded[new]) == date(2025, 12, 12), loaded[new]
    final = subscriptions(runs["incremental"])
    assert [day for day, status in final[new] if status == "active"] == [
        date(2025, 12, day) for day in range(12, 32)]
    assert final == subscriptions(runs["full"])
