"""GA4 export files in Parquet (``EXPORT DATA ... format = 'PARQUET'``), read into the very
rows the JSON files give.

Why a reader of its own: a Parquet export keeps the BigQuery table's types (REPEATED RECORD ->
list of struct, RECORD -> struct, every column of the table, null where the event has no
value), where the JSON export leaves nulls out. ``raw_ga4.events`` must not tell the two apart
(the marts read one table), so a record becomes the JSON text the JSON export holds: built in
SQL from the column's type (:func:`json_sql`: ``concat_ws`` skips null members, empty lists
are left out; vectorised, no per-row Python), and a column enters the table only when some
row has a value in it, as a JSON key does. Scalars are cast to the file path's fixed types.

Fast path, per batch of files: one ``parquet_metadata`` query (footers only: row counts, so an
empty file is reported and a corrupt one quarantined, and null counts, so the columns without
a value are never read), then one ``read_parquet`` of the batch. Slow path, for a file whose
values do not fit (a cast fails, or a REPEATED / RECORD column is not a list / struct): its
rows are written as the JSON lines the export would hold, one row a line, and read by the JSON
path's line-by-line reader (``ga4.parse_with_quarantine``), so a misfit row is quarantined
with its file and its 1-based row number in ``line_number`` and the same reasons as a JSON
line. A file that is not Parquet at all is quarantined as one row, ``line_number`` 0.

Avro is not read: see ``ga4.list_day_files``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from ingestion.sources import ga4
from ingestion.sources.ga4_drift import misshapen

if TYPE_CHECKING:
    from ingestion.sources.ga4 import _Drift


def _files_sql(paths: list[str]) -> str:
    return "[" + ", ".join(ga4._sql_str(p) for p in paths) + "]"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _object_sql(members: list[tuple[str, str, duckdb.sqltypes.DuckDBPyType]], depth: int) -> str:
    """SQL: a JSON object of ``(name, expr, type)`` members, null ones left out."""
    parts = ", ".join(f"{ga4._sql_str(json.dumps(name) + ':')} || {json_sql(expr, kind, depth)}"
                      for name, expr, kind in members)
    return f"'{{' || concat_ws(',', {parts}) || '}}'"


def json_sql(expr: str, kind: duckdb.sqltypes.DuckDBPyType, depth: int = 0) -> str:
    """SQL: ``expr`` of DuckDB type ``kind`` as the JSON export's text, or null: minified,
    null members left out, an empty list null, scalars by ``to_json``. Built from the type:
    string concatenation only (stripping ``to_json``'s nulls with ``regexp_replace`` made the
    read 4x slower; ``json_merge_patch`` leaves nulls inside lists)."""
    if kind.id == "struct":
        members = [(name, f"struct_extract({expr}, {ga4._sql_str(name)})", child)
                   for name, child in kind.children]
        return f"case when {expr} is not null then {_object_sql(members, depth)} end"
    if kind.id == "list":
        var = f"e{depth}"
        element = json_sql(var, kind.children[0][1], depth + 1)
        return (f"case when len({expr}) > 0 then '[' || array_to_string(list_transform({expr}, "
                f"lambda {var}: {element}), ',') || ']' end")
    return f"to_json({expr})"


#: A plain BigQuery field name: ``to_json`` writes it as ``json.dumps`` does.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Prefix of the inner query's stripped text of a column (see :func:`_read`).
_STRIPPED = "__northstar_stripped_"


def strips_exactly(kind: duckdb.sqltypes.DuckDBPyType) -> bool:
    """Whether ``json_strip_nulls(to_json(x))`` gives :func:`json_sql`'s text for a non-empty
    list ``x`` of this type whose text holds no ``null`` (so no null element, which
    ``json_sql`` leaves out and ``json_strip_nulls`` keeps): a list whose elements hold no list
    (``json_sql`` leaves an empty nested list out, ``to_json`` writes ``[]``) and whose field
    names are plain. A REPEATED RECORD of the export (``event_params``, ``user_properties``)."""
    def flat(node: duckdb.sqltypes.DuckDBPyType) -> bool:
        if node.id == "list":
            return False
        if node.id == "struct":
            return all(_PLAIN_NAME.fullmatch(n) and flat(c) for n, c in node.children)
        return True

    return kind.id == "list" and flat(kind.children[0][1])


def _select(name: str, kind: str, source: duckdb.sqltypes.DuckDBPyType | None) -> str:
    """SQL of one output column: the file's column (of type ``source``) read as ``kind``."""
    column = _ident(name)
    if source is None:
        return f"null::{kind} as {column}"
    if kind == "JSON" and strips_exactly(source):
        # the list's to_json with its null members stripped (a third of json_sql's cost on
        # event_params), json_sql's own text where the result has a null or the substring
        # "null" (rare: a list with a null element, or a string value holding "null")
        stripped = _ident(_STRIPPED + name)
        return (f"case when len({column}) > 0 then case when contains({stripped}, 'null') "
                f"then {json_sql(column, source)} else {stripped} end end as {column}")
    if kind == "JSON":
        return f"{json_sql(column, source)} as {column}"
    return f"cast({column} as {kind}) as {column}"


def _read(con: duckdb.DuckDBPyConnection, paths: list[str], columns: dict[str, str]
          ) -> pa.Table | None:
    """``paths`` read at once into ``columns``, or None when a value does not fit.

    The stripped text of a list column is computed once in an inner query: the outer CASE
    refers to it twice, and DuckDB does not share a subexpression inside a CASE.
    """
    files = f"read_parquet({_files_sql(paths)}, union_by_name = true)"
    try:
        rel = con.sql(f"select * from {files}")
        types = dict(zip(rel.columns, rel.types, strict=True))
        select = ", ".join(_select(n, k, types.get(n)) for n, k in columns.items())
        stripped = "".join(f", json_strip_nulls(to_json({_ident(n)}))::varchar as {_ident(_STRIPPED + n)}"
                           for n, k in columns.items()
                           if k == "JSON" and n in types and strips_exactly(types[n]))
        table = con.sql(f"select {select} from (select *{stripped} from {files})").to_arrow_table()
    except duckdb.Error:
        return None
    return None if misshapen(table) else table


def _footers(con: duckdb.DuckDBPyConnection, paths: list[str]
             ) -> tuple[dict[str, int], dict[str, set[str]], dict[str, str]]:
    """From the files' footers: rows per file, the top-level columns with a value in some row
    per file (a leaf whose nulls are fewer than its values, or unknown), and the files that do
    not read (path -> error). A batch that fails is asked file by file."""
    try:
        found = con.execute(
            "select file_name, split_part(path_in_schema, ', ', 1), "
            "sum(row_group_num_rows) filter (where column_id = 0), "
            "bool_or(stats_null_count is null or stats_null_count < num_values) "
            f"from parquet_metadata({_files_sql(paths)}) group by all").fetchall()
    except duckdb.Error as exc:
        if len(paths) == 1:
            return {}, {}, {paths[0]: str(exc).split("\n", 1)[0]}
        rows: dict[str, int] = {}
        present: dict[str, set[str]] = {}
        broken: dict[str, str] = {}
        for path in paths:
            one = _footers(con, [path])
            rows |= one[0]
            present |= one[1]
            broken |= one[2]
        return rows, present, broken
    rows = dict.fromkeys(paths, 0)
    present = {p: set() for p in paths}
    for path, column, count, has_value in found:
        rows[path] += count or 0
        if has_value:
            present[path].add(column)
    return rows, present, {}


def _as_lines(con: duckdb.DuckDBPyConnection, path: str, tmp: Path) -> str:
    """The file's rows as the JSON export's lines (one row a line, in file order)."""
    rel = con.sql(f"select * from read_parquet({ga4._sql_str(path)})")
    row = _object_sql([(n, _ident(n), k) for n, k in zip(rel.columns, rel.types, strict=True)], 0)
    lines = con.sql(f"select {row} from read_parquet({ga4._sql_str(path)}, "
                    "file_row_number = true) order by file_row_number").fetchall()
    out = tmp / (Path(path).name + ".ndjson")
    out.write_text("".join(line + "\n" for (line,) in lines), encoding="utf-8")
    return str(out)


def _unreadable(path: str, name: str, day: str, error: str, drift: _Drift) -> pa.Table:
    reason = error.replace(path, name)
    ga4.logger.warning("ga4: %s is not a readable Parquet file, quarantined (%s)", name, reason)
    drift.tally.quarantined += 1
    return ga4._quarantine(day, name, [(0, f"unreadable file: {reason}; no rows read", "")])


def parse_batch(con: duckdb.DuckDBPyConnection, batch: list[tuple[str, str]], local: list[str],
                tmp: Path, drift: _Drift
                ) -> tuple[pa.Table | None, list[pa.Table], dict[str, str]]:
    """One batch of Parquet files: as ``ga4._parse_batch`` for JSON (rows, quarantine tables,
    columns read)."""
    names = {path: remote.rsplit("/", 1)[-1] for (_, remote), path in zip(batch, local, strict=True)}
    days = {path: day for (day, _), path in zip(batch, local, strict=True)}
    con.execute("set parquet_metadata_cache = true")  # each footer is parsed once, not thrice
    rows, present, broken = _footers(con, local)
    quarantined = [_unreadable(p, names[p], days[p], e, drift) for p, e in broken.items()]
    files = []
    for path in local:
        if path in broken:
            continue
        if not rows.get(path):
            drift.empty(names[path])
            continue
        files.append(path)
        drift.saw(present[path], names[path])
    drift.tally.files += len(batch)
    columns = ga4.columns_for(key for path in files for key in present[path])
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
    result = pa.concat_tables(tables, promote_options="permissive") if tables else None
    if result is not None:  # a column whose footer had no statistics, and no value either
        empty = [c for c in result.column_names
                 if c not in ga4.BASE_COLUMNS and result[c].null_count == result.num_rows]
        result = result.drop_columns(empty)
        columns = {k: v for k, v in columns.items() if k not in empty}
    drift.tally.events += result.num_rows if result is not None else 0
    return result, quarantined, columns
