"""A dbt build that fails on a model is resumed by ``dbt retry``, not rebuilt from scratch.

The first attempt builds two staging models; one fails because its raw table lacks a column
(DuckDB refuses the view). While Dagster's RetryPolicy waits (10 s), the column arrives, as
when an upstream fix lands between attempts. The retry runs ``dbt retry`` on the first
attempt's run_results.json: the failed model and its skipped tests run again, the model that
had built is not rebuilt.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    Failure,
    define_asset_job,
)

from orchestration.assets.dbt import RUN_TARGETS, _raise_for_failures, dbt_models, dbt_resource, run_target_path
from orchestration.resources import WarehouseResource

BROKEN, HEALTHY = AssetKey("stg_stripe__coupons"), AssetKey("stg_stripe__prices")


def _add_the_missing_column_after_the_first_attempt(drafts: Path, done: list,
                                                    job_over: threading.Event) -> None:
    """Wait for a run_results.json with the failure, then repair the run's draft. No clock
    decides: the thread gives up only when the job is over (however slow the machine)."""
    before = set(RUN_TARGETS.iterdir()) if RUN_TARGETS.exists() else set()
    while not job_over.is_set():
        runs = (set(RUN_TARGETS.iterdir()) - before) if RUN_TARGETS.exists() else set()
        if any((run / "run_results.json").exists() for run in runs) and list(drafts.glob("*/*.duckdb")):
            draft = next(drafts.glob("*/*.duckdb"))  # the run's own draft: .drafts/<run id>/
            while not job_over.is_set():
                try:
                    with duckdb.connect(str(draft)) as con:  # once dbt let go of the file
                        con.execute("alter table raw_stripe.coupons add column valid boolean default true")
                    done.append(draft)
                    return
                except duckdb.IOException:
                    time.sleep(0.1)
        time.sleep(0.1)


def test_a_failed_dbt_build_is_resumed_with_dbt_retry(tmp_path, monkeypatch):
    published = tmp_path / "northstar.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute("create schema raw_stripe")
        # the columns dlt always creates (ingestion/sources/stripe_columns.py) but `valid`: the
        # view cannot be created
        con.execute("create table raw_stripe.coupons as select 'co_1' as id, 'ten' as name, 'once' as duration, "
                    "null::bigint as duration_in_months, 10.0::double as percent_off, null::bigint as amount_off, "
                    "null::varchar as currency, 1700000000::bigint as created")
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(published))
    job = define_asset_job("two_models", selection=AssetSelection.assets(BROKEN, HEALTHY))
    defs = Definitions(assets=[dbt_models], jobs=[job],
                       resources={"dbt": dbt_resource(), "warehouse": WarehouseResource()})
    repaired: list = []
    job_over = threading.Event()
    fixer = threading.Thread(target=_add_the_missing_column_after_the_first_attempt,
                             args=(tmp_path / ".drafts", repaired, job_over))
    fixer.start()
    instance = DagsterInstance.ephemeral()
    try:
        result = defs.resolve_job_def("two_models").execute_in_process(instance=instance,
                                                                       raise_on_error=False)
    finally:
        job_over.set()
        fixer.join()

    assert repaired, "the first attempt never failed"
    assert result.success
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 1
    error, reason = retries[0].event_specific_data.error, ""
    while error is not None:  # RetryRequestedFromPolicy, caused by our Failure
        reason, error = reason + error.message, error.cause
    assert "dbt build: 1 failed: model.northstar.stg_stripe__coupons" in reason
    assert 'Binder Error: Referenced column "valid" not found' in reason
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("resuming the failed dbt build with `dbt retry`" in m for m in logs)
    materialized = [m.asset_key for m in result.asset_materializations_for_node("dbt_build")]
    assert sorted(materialized, key=str) == sorted([HEALTHY, BROKEN], key=str)  # prices once, coupons on retry
    # the retry's own run_results: the failed model and its tests, nothing that had succeeded
    retried = json.loads((run_target_path(result.run_id) / "run_results.json").read_text())["results"]
    ids = {r["unique_id"] for r in retried}
    assert "model.northstar.stg_stripe__coupons" in ids and "model.northstar.stg_stripe__prices" not in ids
    assert all(r["status"] in ("success", "pass") for r in retried)


def _failure_of(tmp_path: Path, unique_id: str, message: str) -> Failure:
    """The step's Failure for a dbt build whose run_results.json holds one failed model."""
    results = {"results": [{"unique_id": unique_id, "status": "error", "message": message}]}
    (tmp_path / "run_results.json").write_text(json.dumps(results))
    with pytest.raises(Failure) as raised:
        _raise_for_failures(tmp_path, succeeded=False, error=message)
    return raised.value


def test_a_model_whose_rows_break_its_contract_is_not_retried(tmp_path):
    """A mart's not_null or check constraint (its contract) failing is bad data, as a failed test
    is: a retry would build the same rows. dbt's messages as DuckDB and PostgreSQL word them."""
    duckdb_says = ("Runtime Error in model mrr_summary (models/marts/metrics/mrr_summary.sql)\n"
                   "  Constraint Error: NOT NULL constraint failed: mrr_summary__dbt_tmp.ending_mrr")
    failure = _failure_of(tmp_path, "model.northstar.mrr_summary", duckdb_says)
    assert not failure.allow_retries
    assert failure.description == ("dbt build: 1 failed: model.northstar.mrr_summary: error: Runtime Error in model "
                                   "mrr_summary (models/marts/metrics/mrr_summary.sql) Constraint Error: NOT NULL "
                                   "constraint failed: mrr_summary__dbt_tmp.ending_mrr")
    postgres_says = ('Database Error in model funnel (models/marts/metrics/funnel.sql)\n  null value in column '
                     '"month" of relation "funnel__dbt_tmp" violates not-null constraint')
    assert not _failure_of(tmp_path, "model.northstar.funnel", postgres_says).allow_retries
    # a range or a set of accepted values (a check constraint) likewise
    duckdb_check = ("Runtime Error in model mrr_summary (models/marts/metrics/mrr_summary.sql)\n  Constraint Error: "
                    'CHECK constraint failed on table "mrr_summary__dbt_tmp" with expression CHECK((ending_mrr >= 0))')
    assert not _failure_of(tmp_path, "model.northstar.mrr_summary", duckdb_check).allow_retries
    postgres_check = ('Database Error in model funnel (models/marts/metrics/funnel.sql)\n  new row for relation '
                      '"funnel__dbt_tmp" violates check constraint "funnel__dbt_tmp_check"')
    assert not _failure_of(tmp_path, "model.northstar.funnel", postgres_check).allow_retries
    # a core mart's, and an incremental run's insert into the built table (its constraints) likewise
    incremental = ("Runtime Error in model fct_events (models/marts/core/fct_events.sql)\n"
                   "  Constraint Error: NOT NULL constraint failed: fct_events.ga_session_id")
    assert not _failure_of(tmp_path, "model.northstar.fct_events", incremental).allow_retries
    # anything else may be transient (the retry test above): one retry
    binder = 'Binder Error: Referenced column "valid" not found in FROM clause!'
    assert _failure_of(tmp_path, "model.northstar.stg_stripe__coupons", binder).allow_retries
