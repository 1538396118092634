"""GA4 export files in Parquet (``EXPORT DATA ... format = 'PARQUET'``), read into the very
rows the JSON files give.

Why a reader of its own: a Parquet export keeps the BigQuery table's types (REPEATED RECORD ->
list of struct, RECORD -> struct, every column of the table, null where the event has no
value), where the JSON export leaves nulls out. ``raw_ga4.events`` must not tell the two apart
(the marts read one table), so a record becomes the JSON text the JSON export holds:
DuckDB's ``to_json`` with null fields and empty lists removed (two ``regexp_replace`` passes,
vectorised: no per-row Python), and a column enters the table only when some row of the file
has a value in it, as a JSON key does. Scalars are cast to the file path's fixed types.

Fast path: per batch of files, one ``parquet_file_metadata`` (row counts: an empty file is
reported, a corrupt one quarantined) and one presence query over the non-base columns, then
one ``read_parquet`` of the whole batch. Slow path, for a file whose values do not fit (a cast
fails, or a REPEATED / RECORD column is not a list / struct): its rows are written as the JSON
lines the export would hold, one row a line, and read by the JSON path's own line-by-line
reader (``ga4.parse_with_quarantine``), so a misfit row is quarantined with its file and its
1-based row number in ``line_number``, with the same reasons as a JSON line.

Avro is not read: see ``ga4.list_day_files``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from ingestion.sources import ga4
from ingestion.sources.ga4_drift import misshapen

if TYPE_CHECKING:
    from ingestion.sources.ga4 import _Drift

#: ``"key":null`` / ``"key":[]`` after a comma (every member but an object's first), then as an
#: object's first member. Safe on text: inside a JSON string a quote is always escaped, so a
#: ``,"`` or ``{"`` followed by a name and ``":`` is always a member, never string content.
_LATER_NULL = r',"\w+":(?:null|\[\])'
_FIRST_NULL = r'\{"\w+":(?:null|\[\]),?'
_NESTED = ("STRUCT(", "MAP(", "[]", "UNION(")


def _files_sql(paths: list[str]) -> str:
    return "[" + ", ".join(ga4._sql_str(p) for p in paths) + "]"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pruned_json(expr: str) -> str:
    """SQL: ``expr`` (a struct or list) as the JSON export's text: minified, null members and
    empty lists left out; an empty list itself is null (BigQuery exports no ``[]`` rows)."""
    return (f"nullif(regexp_replace(regexp_replace(to_json({expr}), '{_LATER_NULL}', '', 'g'), "
            f"'{_FIRST_NULL}', '{{', 'g'), '[]')")


def _select(name: str, kind: str, source: str | None) -> str:
    """SQL of one output column: the file's column ``source`` type read as ``kind``."""
    column = _ident(name)
    if source is None:
        return f"null::{kind} as {column}"
    if kind == "JSON":
        nested = any(mark in source for mark in _NESTED)
        return f"{pruned_json(column) if nested else f'to_json({column})'}::JSON as {column}"
    return f"cast({column} as {kind}) as {column}"


def _schema(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, str]:
    """Column -> DuckDB type of the files read together (by name)."""
    described = con.sql(f"describe select * from read_parquet({_files_sql(paths)}, "
                        "union_by_name = true)").fetchall()
    return {name: kind for name, kind, *_ in described}


def _read(con: duckdb.DuckDBPyConnection, paths: list[str], columns: dict[str, str]
          ) -> pa.Table | None:
    """``paths`` read at once into ``columns``, or None when a value does not fit."""
    try:
        schema = _schema(con, paths)
        select = ", ".join(_select(n, k, schema.get(n)) for n, k in columns.items())
        table = con.sql(f"select {select} from read_parquet({_files_sql(paths)}, "
                        "union_by_name = true)").to_arrow_table()
    except duckdb.Error:
        return None
    return None if misshapen(table) else table


def _present(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, set[str]]:
    """Path -> the columns beyond the export's base ones that have a value in some row (a
    Parquet export holds every column of the table, mostly null)."""
    found: dict[str, set[str]] = {p: set() for p in paths}
    try:
        schema = _schema(con, paths)
    except duckdb.Error:  # files that do not read together: one at a time
        if len(paths) == 1:
            return found
        return {p: keys for path in paths for p, keys in _present(con, [path]).items()}
    extra = [name for name in schema if name not in ga4.BASE_COLUMNS]
    if not extra:
        return found
    counts = ", ".join(f"count({_ident(n)}) > 0" for n in extra)
    for index, *has in con.sql(
            f"select file_index, {counts} from read_parquet({_files_sql(paths)}, "
            "union_by_name = true) group by file_index").fetchall():
        found[paths[index]] = {n for n, h in zip(extra, has, strict=True) if h}
    return found


def _as_lines(con: duckdb.DuckDBPyConnection, path: str, tmp: Path) -> str:
    """The file's rows as the JSON export's lines (one row a line, in file order)."""
    names = list(_schema(con, [path]))
    packed = "struct_pack(" + ", ".join(f"{_ident(n)} := {_ident(n)}" for n in names) + ")"
    out = tmp / (Path(path).name + ".ndjson")
    lines = con.sql(f"select {pruned_json(packed)} as line from read_parquet("
                    f"{ga4._sql_str(path)}, file_row_number = true) order by file_row_number"
                    ).fetchall()
    out.write_text("".join((line or "{}") + "\n" for (line,) in lines), encoding="utf-8")
    return str(out)


def parse_batch(con: duckdb.DuckDBPyConnection, batch: list[tuple[str, str]], local: list[str],
                tmp: Path, drift: _Drift
                ) -> tuple[pa.Table | None, list[pa.Table], dict[str, str]]:
    """One batch of Parquet files: as ``ga4._parse_batch`` for JSON (rows, quarantine tables,
    columns read)."""
    names = {path: remote.rsplit("/", 1)[-1] for (_, remote), path in zip(batch, local, strict=True)}
    days = {path: day for (day, _), path in zip(batch, local, strict=True)}
    quarantined: list[pa.Table] = []
    files = []
    for path in local:
        try:
            rows = con.execute(f"select sum(num_rows) from parquet_file_metadata("
                               f"{ga4._sql_str(path)})").fetchall()[0][0]
        except duckdb.Error as exc:
            reason = str(exc).split("\n", 1)[0].replace(path, names[path])
            ga4.logger.warning("ga4: %s is not a readable Parquet file, quarantined (%s)",
                               names[path], reason)
            quarantined.append(ga4._quarantine(days[path], names[path], [
                (0, f"unreadable file: {reason}; no rows read", "")]))
            drift.tally.quarantined += 1
            continue
        if not rows:
            drift.empty(names[path])
            continue
        files.append(path)
    drift.tally.files += len(batch)
    present = _present(con, files) if files else {}
    for path in files:
        drift.saw(present[path], names[path])
    columns = ga4.columns_for(key for keys in present.values() for key in keys)
    whole = _read(con, files, columns) if files else None
    tables = [whole] if whole is not None else []
    for path in files if whole is None else []:
        table = _read(con, [path], columns)
        if table is None:
            lines = _as_lines(con, path, tmp)
            table, bad, read_columns = ga4.parse_with_quarantine(con, lines, columns, tmp)
            drift.saw(set(read_columns) - set(columns), names[path])
            columns = {**columns, **read_columns}
            if bad:
                number, reason, _ = bad[0]
                ga4.logger.warning("ga4: %s has %d row(s) that do not fit, quarantined "
                                   "(first: row %d, %s)", names[path], len(bad), number, reason)
                quarantined.append(ga4._quarantine(days[path], names[path], bad))
                drift.tally.quarantined += len(bad)
        if table is not None:
            tables.append(table)
    rows_table = pa.concat_tables(tables, promote_options="permissive") if tables else None
    drift.tally.events += rows_table.num_rows if rows_table is not None else 0
    return rows_table, quarantined, columns
