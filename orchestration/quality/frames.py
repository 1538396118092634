"""Reading a suite's table from the warehouse: which columns exist, and the rows in chunks.

GX 1.x's SQL datasource errors on DuckDB, so suites validate pandas DataFrames. GA4 events
run to millions of rows (13.6 M at the large scale): only the suite's columns are read, and
the rows arrive as DataFrames of at most ``chunk_rows`` rows, so memory stays bounded
whatever the table's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import duckdb
import pandas as pd
import pyarrow as pa

DEFAULT_CHUNK_ROWS = 1_000_000

#: Arrow integers -> pandas nullable integers, for integer columns holding a null: the default
#: conversion makes them float64, which would hide whether the warehouse holds integers at all.
_NULLABLE_INTEGERS = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table or view; empty when it does not exist."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = current_database() and table_schema = ? and table_name = ?"
        " order by ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def select_sql(schema: str, table: str, columns: Iterable[str], where: str | None = None) -> str:
    sql = f"select {', '.join(quoted(c) for c in columns)} from {quoted(schema)}.{quoted(table)}"
    return f"{sql} where {where}" if where else sql


def _exact_chunks(batches: Iterable[pa.RecordBatch], schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """Regroup batches into tables of exactly ``rows`` rows (the last may be shorter).

    DuckDB's reader yields batches of ~120 k rows whatever batch size is asked for; validating
    each would multiply GX's per-batch overhead, so they are gathered up to the chunk size.
    """
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for batch in batches:
        pending.append(batch)
        pending_rows += batch.num_rows
        while pending_rows >= rows:
            table = pa.Table.from_batches(pending, schema=schema)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, pending_rows = rest.to_batches(), rest.num_rows
    if pending_rows:
        yield pa.Table.from_batches(pending, schema=schema)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as the DataFrame GX validates fastest, types kept.

    GX's range check is vectorised only for numpy int64/float64 and datetime64[ns] columns and
    runs a Python function per value otherwise (~1 s per million rows). So integers stay numpy
    unless they hold a null (then nullable, still integers), and dates and timestamps become
    datetime64[ns], which also lets GX compare them with a datetime bound.
    """
    frame = table.to_pandas(date_as_object=False, coerce_temporal_nanoseconds=True)
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count:
            frame[name] = column.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
    return frame


def read_frames(
    con: duckdb.DuckDBPyConnection, sql: str, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The rows of ``sql`` as DataFrames of at most ``chunk_rows`` rows, streamed."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    reader = con.sql(sql).to_arrow_reader(batch_size=chunk_rows)
    for table in _exact_chunks(reader, reader.schema, chunk_rows):
        yield to_frame(table)
