"""Validating a suite on the warehouse: GX on pandas DataFrames read with DuckDB, in chunks.

Per call, one GX context (a fresh in-memory one, or the Data Docs' shared one), one pandas
datasource with one DataFrame asset and its whole-DataFrame batch definition, and one suite;
each chunk is then a batch of that asset validated against that suite. Building them costs
more than validating a small chunk, so they are never rebuilt per chunk.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import duckdb

from orchestration.quality.docs import QualityDocs, gx_context
from orchestration.quality.frames import (
    DEFAULT_CHUNK_ROWS,
    quoted,
    read_frames,
    select_sql,
    table_columns,
)
from orchestration.quality.reference import reference_data
from orchestration.quality.results import EXAMPLES, SuiteResult, SuiteTally
from orchestration.quality.suite import Suite, columns_read

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.expectations import Expectation

#: BASIC gives counts and the first unexpected values; SUMMARY/COMPLETE would also compute
#: value counts and row indexes, work thrown away here.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": EXAMPLES}


def _gx_objects(suite: Suite, expectations: list[Expectation],
               docs: QualityDocs | None) -> tuple[BatchDefinition, ExpectationSuite]:
    """The GX context's suite and a batch definition for DataFrames of its table.

    The context is the Data Docs' one when results are kept, else a fresh in-memory one.
    Adding the suite to the context gives each expectation the id results are matched by.
    """
    import great_expectations as gx

    context = docs.context if docs is not None else gx_context()
    asset = context.data_sources.add_or_update_pandas(suite.name).add_dataframe_asset(suite.table)
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_dataframe")
    gx_suite = context.suites.add_or_update(gx.ExpectationSuite(name=suite.name, expectations=expectations))
    return batch_definition, gx_suite


def _missing_table(suite: Suite) -> SuiteResult:
    return SuiteResult(suite=suite.name, table=suite.table, passed=True, rows=0,
                       note=f"table {suite.table} does not exist: source not configured, nothing to validate")


def _missing_columns(suite: Suite, missing: list[str]) -> SuiteResult:
    return SuiteResult(suite=suite.name, table=suite.table, passed=False, rows=0,
                       failures=[f"table is missing column(s) {', '.join(missing)}"])


def window_start(con: duckdb.DuckDBPyConnection, suite: Suite, days: int) -> str | None:
    """The SQL literal of the first value in the last ``days`` days of ``suite.window_column``
    before its newest (a DATE, or GA4's YYYYMMDD text), or None when the table is empty.

    A literal, not a subquery: DuckDB then skips the older row groups instead of reading them."""
    table = f"{quoted(suite.schema_name)}.{quoted(suite.table_name)}"
    [(newest,)] = con.execute(f"select max({quoted(suite.window_column)}) from {table}").fetchall()
    if newest is None:
        return None
    if isinstance(newest, str):  # the GA4 export's event_date
        start = (datetime.strptime(newest, "%Y%m%d") - timedelta(days=days)).strftime("%Y%m%d")
        return f"'{start}'"
    return f"date '{(newest - timedelta(days=days)).isoformat()}'"


def validate(con: duckdb.DuckDBPyConnection, suite: Suite, now: datetime | None = None,
             chunk_rows: int = DEFAULT_CHUNK_ROWS, docs: QualityDocs | None = None,
             window_days: int | None = None) -> SuiteResult:
    """Validate ``suite`` on its table in the warehouse ``con`` is connected to.

    ``now`` bounds "not in the future" (default: the current time; naive means UTC).
    ``chunk_rows`` bounds the rows held in memory at once. With ``docs``, each chunk's
    result is kept for GX's Data Docs. With ``window_days``, a suite with a window column reads
    only the rows of its last days (orchestration/test_window.py), the others every row.

    A table that does not exist passes with rows=0 and a note: a raw table is absent when its
    source is not configured (no LinkedIn Ads account, say), and dbt then builds the marts from
    empty stand-ins (macro source_or_empty), so nothing is wrong; failing would turn every
    such deployment's checks red for good. A missing mart is dbt's failure to report, not
    this check's. A table that lacks one of the suite's columns fails: that is schema drift.
    """
    present = table_columns(con, suite.schema_name, suite.table_name)
    if not present:
        return _missing_table(suite)
    expectations = suite.expectations(reference_data(con, now))
    columns = columns_read(expectations)
    windowed = window_days is not None and suite.window_column is not None
    missing = [c for c in (*columns, *([suite.window_column] if windowed else [])) if c not in present]
    if missing:
        return _missing_columns(suite, missing)

    batch_definition, gx_suite = _gx_objects(suite, expectations, docs)
    tally = SuiteTally(gx_suite.expectations)
    filters = [f"({suite.where})"] if suite.where else []
    scope = None
    if windowed:
        start = window_start(con, suite, window_days)
        if start is not None:
            scope = f"{suite.window_column} >= {start}"
            filters.append(scope)
    sql = select_sql(suite.schema_name, suite.table_name, columns, " and ".join(filters) or None)
    for number, frame in enumerate(read_frames(con, sql, chunk_rows), start=1):
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(gx_suite, result_format=RESULT_FORMAT)
        tally.add(len(frame), validation)
        if docs is not None:
            docs.record(suite.name, f"rows_chunk_{number}", validation)
    result = tally.result(suite.name, suite.table)
    result.scope = scope
    return result
