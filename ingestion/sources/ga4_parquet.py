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
a value are never read and the fields null in every row are left out of the text's SQL), then
one ``read_parquet`` of the batch. A REPEATED RECORD (``event_params``) is the costly one:
``list_transform`` builds its text element by element, so it is ``to_json``'s text with the
null members taken out by ``replace`` (:func:`stripped_sql`), ``json_sql`` only for the rare
rows where a ``null`` remains. With both, the Parquet shards load at least as fast as the
JSON files (bench/ga4_load.py). Slow path, for a file whose
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
#: Prefix of the inner query's unstripped text of a column (see :func:`_read`).
_TEXT = "__northstar_text_"
#: A leaf column: its top-level column and field names, a list level written as ``[]``.
Leaf = tuple[str, ...]


def strips_exactly(kind: duckdb.sqltypes.DuckDBPyType) -> bool:
    """Whether :func:`stripped_sql` gives :func:`json_sql`'s text for a non-empty list ``x``
    of this type whenever the result holds no ``null``: a list whose elements hold no list
    (``json_sql`` leaves an empty nested list out, ``to_json`` writes ``[]``) and whose field
    names are plain. A REPEATED RECORD of the export (``event_params``, ``user_properties``)."""
    def flat(node: duckdb.sqltypes.DuckDBPyType) -> bool:
        if node.id == "list":
            return False
        if node.id == "struct":
            return all(_PLAIN_NAME.fullmatch(n) and flat(c) for n, c in node.children)
        return True

    return kind.id == "list" and flat(kind.children[0][1])


def _null_members(kind: duckdb.sqltypes.DuckDBPyType) -> list[tuple[str, str]]:
    """``replace`` pairs that take the null members out of ``to_json``'s text of ``kind``
    (plain names, no nested list): ``,"m":null`` of every member that is not first, then
    ``{"f":null,`` of every first member. Exact on JSON text: ``,"`` and ``{"`` never occur
    inside a JSON string (its quotes are escaped), and once the later null members are gone
    a null first member is followed by a value. What they miss (an object of null members
    only, a null list element) leaves a ``null`` in the text, which :func:`_select` sends to
    :func:`json_sql`."""
    later: dict[str, None] = {}
    first: dict[str, None] = {}

    def walk(node: duckdb.sqltypes.DuckDBPyType) -> None:
        if node.id == "list":
            walk(node.children[0][1])
        elif node.id == "struct":
            for i, (name, child) in enumerate(node.children):
                (later if i else first)[name] = None
                walk(child)

    walk(kind)
    return ([(f',"{name}":null', "") for name in later]
            + [(f'{{"{name}":null,', "{") for name in first])


def stripped_sql(expr: str, kind: duckdb.sqltypes.DuckDBPyType) -> str:
    """SQL: ``to_json(expr)`` without its null members (:func:`_null_members`). A few
    ``replace`` calls on the text cost a third of :func:`json_sql`'s ``list_transform`` on
    ``event_params`` (and half of ``json_strip_nulls``, which parses the text again)."""
    text = f"to_json({expr})::varchar"
    for old, new in _null_members(kind):
        text = f"replace({text}, {ga4._sql_str(old)}, {ga4._sql_str(new)})"
    return text


def pruned(kind: duckdb.sqltypes.DuckDBPyType, at: Leaf, empty: set[Leaf]
           ) -> duckdb.sqltypes.DuckDBPyType:
    """``kind`` (of the column or field at ``at``) without the scalar fields that are null in
    every row (``empty``, from the footers): :func:`json_sql` and ``to_json`` then skip them.
    The text does not change (a null member is left out anyway); a record keeps its first
    field when all are null, so that it still reads as ``{}``."""
    if kind.id == "list":
        element = kind.children[0][1]
        narrow = pruned(element, (*at, "[]"), empty)
        return kind if narrow is element else duckdb.list_type(narrow)
    if kind.id != "struct":
        return kind
    fields = {name: pruned(child, (*at, name), empty) for name, child in kind.children
              if child.id in ("struct", "list") or (*at, name) not in empty}
    if all(fields.get(name) is child for name, child in kind.children):
        return kind
    first_name, first_child = kind.children[0]
    return duckdb.struct_type(fields or {first_name: first_child})


def _select(name: str, kind: str, source: duckdb.sqltypes.DuckDBPyType | None,
            empty: set[Leaf]) -> str:
    """SQL of one output column: the file's column (of type ``source``) read as ``kind``."""
    column = _ident(name)
    if source is None:
        return f"null::{kind} as {column}"
    if kind != "JSON":
        return f"cast({column} as {kind}) as {column}"
    narrow = pruned(source, (name,), empty)
    if strips_exactly(narrow):
        # to_json's text with its null members taken out; json_sql's own where a null or the
        # substring "null" remains (rare: a null element, a string value holding "null")
        text = _ident(_TEXT + name)
        return (f"case when len({column}) > 0 then case when contains({text}, 'null') "
                f"then {json_sql(column, narrow)} else {text} end end as {column}")
    return f"{json_sql(column, narrow)} as {column}"


def _read(con: duckdb.DuckDBPyConnection, paths: list[str], columns: dict[str, str],
          empty: set[Leaf] = frozenset()) -> pa.Table | None:
    """``paths`` read at once into ``columns``, or None when a value does not fit. ``empty``:
    the leaves without a value in any of ``paths`` (:func:`_footers`).

    The stripped text of a list column is computed once in an inner query: the outer CASE
    refers to it twice, and DuckDB does not share a subexpression inside a CASE.
    """
    files = f"read_parquet({_files_sql(paths)}, union_by_name = true)"
    try:
        rel = con.sql(f"select * from {files}")
        types = dict(zip(rel.columns, rel.types, strict=True))
        select = ", ".join(_select(n, k, types.get(n), empty) for n, k in columns.items())
        narrow = {n: pruned(types[n], (n,), empty) for n, k in columns.items()
                  if k == "JSON" and n in types}
        texts = "".join(f", {stripped_sql(f'{_ident(n)}::{t}', t)} as {_ident(_TEXT + n)}"
                        for n, t in narrow.items() if strips_exactly(t))
        table = con.sql(f"select {select} from (select *{texts} from {files})").to_arrow_table()
    except duckdb.Error:
        return None
    return None if misshapen(table) else table


def _leaf(path_in_schema: str) -> Leaf:
    """A footer's leaf path (``event_params, list, element, value, int_value``) as a
    :data:`Leaf` (``event_params, [], value, int_value``): the standard three-level list."""
    return tuple(path_in_schema.replace(", list, element", ", []").split(", "))


def _footers(con: duckdb.DuckDBPyConnection, paths: list[str]
             ) -> tuple[dict[str, int], dict[str, set[str]], dict[str, str], set[Leaf]]:
    """From the files' footers: rows per file, the top-level columns with a value in some row
    per file (a leaf whose nulls are fewer than its values, or unknown), the files that do
    not read (path -> error), and the leaves without a value in any file (a leaf a file does
    not have counts as such; one written otherwise than as three-level lists is never found
    there, so it is never taken for empty). A batch that fails is asked file by file."""
    try:
        found = con.execute(
            "select file_name, path_in_schema, "
            "sum(row_group_num_rows) filter (where column_id = 0), "
            "bool_or(stats_null_count is null or stats_null_count < num_values) "
            f"from parquet_metadata({_files_sql(paths)}) group by all").fetchall()
    except duckdb.Error as exc:
        if len(paths) == 1:
            return {}, {}, {paths[0]: str(exc).split("\n", 1)[0]}, set()
        rows: dict[str, int] = {}
        present: dict[str, set[str]] = {}
        broken: dict[str, str] = {}
        for path in paths:
            one = _footers(con, [path])
            rows |= one[0]
            present |= one[1]
            broken |= one[2]
        return rows, present, broken, set()  # no leaf taken for empty: read them all
    rows = dict.fromkeys(paths, 0)
    present = {p: set() for p in paths}
    leaves, valued = set(), set()
    for path, column, count, has_value in found:
        rows[path] += count or 0
        leaf = _leaf(column)
        leaves.add(leaf)
        if has_value:
            present[path].add(leaf[0])
            valued.add(leaf)
    return rows, present, {}, leaves - valued


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
    rows, present, broken, empty = _footers(con, local)
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
    whole = _read(con, files, columns, empty) if files else None
    tables = [whole] if whole is not None else []
    for path in files if whole is None else []:
        table = _read(con, [path], columns, empty)
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
