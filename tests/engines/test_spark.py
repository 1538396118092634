"""The same sandbox world built on DuckDB and on Spark (local mode) gives the same metric marts.

One small world (the quarter of tests/quarter_world.py: every metric mart has rows) is loaded
by the real sources with NORTHSTAR_TARGET=spark into Parquet files that Spark reads as external
tables (macros/spark_raw_sources.sql). DuckDB's side is the quarter's build from its daily
export files, made once per run (the GA4 tests read it too). Spark builds every model and seed
and runs every unit test (``dbt build`` without the data tests: they check the data, which the
DuckDB build does, and on Spark each costs a query's overhead, ~500 of them) through its
write-audit-publish path (orchestration/spark_wap.py) and is read where BI reads it. Every model
of models/marts/metrics is then compared row for row, cell for cell: money is compared as
Decimal (exact), never as floats. The unit tests' results are checked in a test of their own,
and a failed audit is shown to leave the published views as they were (write-audit-publish on
Spark).

Spark starts in this process from the ``pyspark`` package on the machine's Java; when it
cannot start, the test fails with Spark's message (it never skips).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections import Counter
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.run import ingest
from ingestion.spark import spark_dir, spark_session
from orchestration.dbt_project import PROJECT_DIR
from orchestration.spark_wap import build_and_publish, published_slot
from sandbox.client_env import source_env
from sandbox.server import start_server
from tests.dbt_helpers import project_unit_tests
from tests.quarter_world import daily_files_build, quarter

#: In `make test` (a worker of its own for ~8 minutes); `make test-spark` runs it alone.
pytestmark = pytest.mark.spark

#: models, seeds and unit tests (and the enforced contracts of the metric marts); no data tests.
#: The unit tests run in the build, each before its model, not in a second dbt invocation: on
#: Spark each is a few small jobs whose time is mostly the driver's planning, which overlaps the
#: other models' (dbt's four threads), and a second invocation parses the project again.
SPARK_BUILD_ARGS = ("--exclude-resource-type", "test")
METRIC_MARTS = sorted(path.stem for path in (PROJECT_DIR / "models/marts/metrics").glob("*.sql"))


def cell(value):
    """A value both engines' drivers agree on: timestamps as naive UTC, everything else as is
    (Decimal stays Decimal: exact)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def sort_key(row: tuple) -> tuple:
    return tuple((value is None, str(value)) for value in row)


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """(DuckDB file, Spark session, the Spark build's target folder) after one load and one
    ``dbt build`` each of the same world."""
    root = tmp_path_factory.mktemp("spark_engine")
    duckdb_path = root / "northstar.duckdb"
    shutil.copy(daily_files_build(tmp_path_factory) / duckdb_path.name, duckdb_path)
    sim = quarter(root / "ga4")
    server = start_server(sim.world, port=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NORTHSTAR_WAREHOUSE", str(duckdb_path))
        patch.setenv("NORTHSTAR_SPARK_DIR", str(root / "spark"))
        patch.setenv("NORTHSTAR_TARGET", "spark")
        for key, value in source_env(server.base_url, sim.world.start, sim.world.as_of).items():
            patch.setenv(key, value)
        try:
            results = ingest()
            assert all(r.status == "loaded" for r in results), [r.line() for r in results]
        finally:
            server.shutdown()
        started = time.monotonic()
        spark = spark_session()  # fails here, with Spark's message, when Java or Spark cannot start
        # the nightly's path on Spark: build a slot, then publish it (orchestration/spark_wap.py)
        outcome = build_and_publish(target_path=root / "target_spark", dbt_args=SPARK_BUILD_ARGS)
        assert outcome.published, outcome.failures
        print(f"built on Spark in {time.monotonic() - started:.0f}s")
        yield duckdb_path, spark, root / "target_spark"
        spark.stop()


def test_every_metric_mart_is_identical_on_spark(engines, summary_line):
    duckdb_path, spark, _ = engines
    compared, differences = 0, []
    with duckdb.connect(str(duckdb_path)) as con:  # not read_only: dbt-duckdb ran in this process
        for mart in METRIC_MARTS:
            expected = con.execute(f"select * from metrics.{mart}")
            columns = [d[0] for d in expected.description]
            expected_rows = sorted((tuple(cell(v) for v in row) for row in expected.fetchall()), key=sort_key)
            frame = spark.sql(f"select * from metrics.{mart}")
            assert frame.columns == columns, f"{mart}: columns {frame.columns} on Spark, {columns} on DuckDB"
            actual_rows = sorted((tuple(cell(v) for v in row) for row in frame.collect()), key=sort_key)
            assert len(actual_rows) == len(expected_rows), \
                f"{mart}: {len(actual_rows)} rows on Spark, {len(expected_rows)} on DuckDB"
            for expected_row, actual_row in zip(expected_rows, actual_rows, strict=True):
                for column, want, got in zip(columns, expected_row, actual_row, strict=True):
                    compared += 1
                    exact = type(want) is type(got) or {type(want), type(got)} <= {int, Decimal}
                    if want != got or not exact:
                        differences.append(f"{mart}.{column}: DuckDB {want!r}, Spark {got!r} (row {expected_row})")
    summary_line(f"spark vs duckdb: {len(METRIC_MARTS)} metric marts, {compared} cells compared, "
                 f"{len(differences)} differing")
    assert compared > 0
    by_column = Counter(line.split(":", 1)[0] for line in differences)
    assert not differences, f"differing cells per column: {dict(by_column)}\n" + "\n".join(differences[:30])


def test_unit_tests_pass_on_spark(engines):
    """dbt's unit tests (fixture rows in, expected rows out) on Spark: the edge cases the small
    world may not reach (FX crosses, discounts, rounding) on Spark's arithmetic. Every unit test
    of the project ran in the Spark build (its run_results) and passed."""
    _, _, target = engines
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit_tests = {result["unique_id"]: result["status"] for result in results
                  if result["unique_id"].startswith("unit_test.")}
    assert set(unit_tests) == project_unit_tests(target)
    assert {uid: status for uid, status in unit_tests.items() if status != "pass"} == {}


def test_a_failed_audit_on_spark_leaves_the_published_views_untouched(engines, tmp_path):
    """Write-audit-publish on Spark: a Stripe customer delivered twice in one load fails the
    audit (stg_stripe__customers' unique test) in the unpublished slot; the published views still
    read the previous slot, with the same rows. Runs last: it adds a raw file (removed after)."""
    _, spark, _ = engines
    slot = published_slot(spark)
    assert slot in ("blue", "green")
    mart = "metrics.mrr_summary"
    before = sorted(map(tuple, spark.sql(f"select * from {mart}").collect()))
    definition = spark.sql("show create table staging.stg_stripe__customers").collect()[0][0]
    assert f"staging__{slot}.stg_stripe__customers" in definition
    customers = spark_dir() / "raw" / "raw_stripe" / "customers"
    one = pq.read_table(sorted(customers.glob("*.parquet"))[-1]).slice(0, 1)
    duplicate = customers / "9999999999.999999.duplicate.parquet"  # the newest load id
    pq.write_table(pa.concat_tables([one, one]), duplicate)
    try:
        outcome = build_and_publish(target_path=tmp_path / "target",
                                    dbt_args=("--select", "stg_stripe__customers"))
    finally:
        duplicate.unlink()
    assert not outcome.published
    assert any("unique_stg_stripe__customers_customer_id" in line for line in outcome.failures), outcome.failures
    assert outcome.slot != slot
    assert published_slot(spark) == slot
    assert f"staging__{slot}.stg_stripe__customers" in \
        spark.sql("show create table staging.stg_stripe__customers").collect()[0][0]
    assert sorted(map(tuple, spark.sql(f"select * from {mart}").collect())) == before
