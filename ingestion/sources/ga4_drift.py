"""Schema drift in the GA4 export, never silent: new fields, misshapen values, empty files.

Why a full key scan: DuckDB's ``read_json`` with an explicit ``columns=`` schema drops every
key it was not told about, without a word, and its own schema detection only samples. So every
line's top-level keys are read (``json_keys`` over ``read_ndjson_objects``, one query per batch
of files, ~0.9x the cost of the read itself) and any field the schema does not know becomes a
column, wherever it first appears. The same query counts each file's objects, which is how an
empty file is told apart from a file whose lines are all broken.

Why shape checks: the nested records are read as DuckDB ``JSON`` (any JSON value fits), so an
``event_params`` written as a string would load as a JSON string and every
``unnest(event_params::json[])`` would read nothing for that event. A REPEATED field must be a
JSON array and a RECORD field a JSON object (or null / missing); an integer field must be a JSON
number or a string of digits (BigQuery's JSON export writes INT64 as a string). A line that
breaks this goes to the quarantine with a reason naming the field.

Each run ends with one summary line (:func:`summary`), at WARNING when a column was added, a
line quarantined or a file empty, so it shows at the default log level; it is logged to
:func:`ingestion.common.notes.note_logger`, which ``northstar ingest`` prints under the source's line.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

#: The export's REPEATED fields: a JSON array on every line (or null / missing).
REPEATED_COLUMNS = ("event_params", "user_properties", "items")
#: The export's RECORD fields: a JSON object on every line (or null / missing).
RECORD_COLUMNS = ("device", "geo", "traffic_source", "collected_traffic_source", "user_ltv",
                  "privacy_info", "app_info", "event_dimensions", "ecommerce",
                  "session_traffic_source_last_click", "publisher")
#: What a misshapen value is reported as not being.
_SHAPE_WORDS = {**dict.fromkeys(REPEATED_COLUMNS, "a list"),
                **dict.fromkeys(RECORD_COLUMNS, "an object")}
#: The first character of the JSON text DuckDB writes for each shape (minified).
_SHAPE_OPENERS = {**dict.fromkeys(REPEATED_COLUMNS, "["), **dict.fromkeys(RECORD_COLUMNS, "{")}
_SHAPE_TYPES = {"[": "ARRAY", "{": "OBJECT"}
#: How a quarantine reason for a line that is valid JSON but not the export's shape begins.
SCHEMA_REASON = "does not fit the GA4 export schema"
#: How many names a summary lists before "...".
_MAX_NAMES = 10


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


# --- every line's keys ----------------------------------------------------------------------


@dataclass
class FileScan:
    """One file's top-level keys and how many of its lines are JSON objects with keys."""

    keys: set[str] = field(default_factory=set)
    objects: int = 0


def scan_keys(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, FileScan]:
    """Every line's top-level keys, per file (one pass over all ``paths``).

    Lines that are not valid JSON are skipped here (the read finds and quarantines them); a file
    with none but such lines is absent from the answer. Raises ``duckdb.Error`` when a file
    cannot be read at all (not gzip despite its name, say).
    """
    files = "[" + ", ".join(_sql_str(p) for p in paths) + "]"
    rows = con.sql(
        f"select file_index, json_keys(json) as keys, count(*) as n "
        f"from read_ndjson_objects({files}, ignore_errors=true) group by all"
    ).fetchall()
    scans: dict[str, FileScan] = {}
    for index, keys, n in rows:
        scan = scans.setdefault(paths[index], FileScan())
        if keys:
            scan.keys.update(keys)
            scan.objects += n
    return scans


def scan_batch(con: duckdb.DuckDBPyConnection, paths: list[str]
               ) -> tuple[dict[str, FileScan], set[str]]:
    """:func:`scan_keys` of ``paths``, and the files that could not be scanned at all (when one
    fails the batch, each file is scanned alone; the caller reads the failed ones line by line).
    """
    if not paths:
        return {}, set()
    try:
        return scan_keys(con, paths), set()
    except duckdb.Error:
        pass
    scans: dict[str, FileScan] = {}
    failed = set()
    for path in paths:
        try:
            scans.update(scan_keys(con, [path]))
        except duckdb.Error:
            failed.add(path)
    return scans, failed


def decompressed(path: str) -> bytes:
    """The file's bytes, gunzipped when they are gzip (whatever the file's name says)."""
    data = Path(path).read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def readable(path: str) -> tuple[bytes, str | None]:
    """As much of the file as reads, and why the rest does not (None when all of it reads).

    A gzip cut short (an interrupted copy, a full disk at the writer) or corrupt midway still
    holds every line before the damage: those load, and the caller quarantines the break.
    """
    data = Path(path).read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data, None
    out: list[bytes] = []
    while data:
        stream = zlib.decompressobj(wbits=31)
        try:
            out.append(stream.decompress(data))
        except zlib.error as exc:
            return b"".join(out), f"corrupt gzip data ({exc})"
        if not stream.eof:
            out.append(stream.flush())
            return b"".join(out), "the gzip stream ends early (truncated file)"
        data = stream.unused_data  # concatenated gzip members are one file
    return b"".join(out), None


def is_blank(path: str) -> bool:
    """Whether the file holds nothing but white space (zero bytes, or an empty gzip stream)."""
    try:
        return decompressed(path).strip() == b""
    except (OSError, EOFError, zlib.error):  # a corrupt gzip: not empty, the read reports it
        return False


def line_keys(con: duckdb.DuckDBPyConnection, lines: pa.Table) -> set[str]:
    """The top-level keys of the JSON-object lines in ``lines`` (column ``line``)."""
    rows = con.sql(
        "select distinct unnest(json_keys(line)) from lines where json_valid(line) "
        "and json_type(line) = 'OBJECT'"
    ).fetchall()
    return {key for (key,) in rows}


# --- shapes and numbers ---------------------------------------------------------------------


def misshapen(table: pa.Table) -> bool:
    """Whether a REPEATED / RECORD column of ``table`` holds anything but an array / object.

    Cheap: DuckDB writes JSON columns minified, so the first character tells the shape.
    """
    for name in table.column_names:
        opener = _SHAPE_OPENERS.get(name)
        if opener is None:
            continue
        ok = pc.starts_with(table.column(name), opener)
        if pc.any(pc.invert(ok)).as_py():  # nulls stay null and count as fine
            return True
    return False


def misfit_lines(con: duckdb.DuckDBPyConnection, lines: pa.Table, candidates: list[int],
                 columns: dict[str, str]) -> dict[int, str]:
    """``{index: reason}`` for the lines (of ``candidates``, valid JSON objects) whose REPEATED
    or RECORD field has the wrong shape, or whose integer / number field is not a number.

    One query over the candidates (each line parsed once for all the shapes); the reason is
    then worded in Python for the few lines found.
    """
    shaped = [*REPEATED_COLUMNS, *RECORD_COLUMNS]
    numeric = {k: t for k, t in columns.items() if t in ("BIGINT", "DOUBLE")}
    names = shaped + list(numeric)
    paths = "[" + ", ".join(_sql_str(_path(k)) for k in names) + "]"
    tests = [f"t[{i + 1}] not in ('{_SHAPE_TYPES[_SHAPE_OPENERS[k]]}', 'NULL')"
             for i, k in enumerate(shaped)]
    for i, (key, kind) in enumerate(numeric.items(), start=len(shaped) + 1):
        value = f"json_extract_string(line, {_sql_str(_path(key))})"
        tests.append(f"(t[{i}] in ('OBJECT', 'ARRAY') or (case when t[{i}] = 'VARCHAR' "
                     f"then try_cast({value} as {kind}) is null else false end))")
    picked = pa.table({"i": pa.array(candidates, pa.int64()),  # noqa: F841 - read below
                       "line": lines.column("line").take(candidates)})
    found = con.sql(
        f"select i from (select i, line, json_type(line, {paths}) as t from picked) "
        f"where {' or '.join(tests)} order by i"
    ).fetchall()
    text = lines.column("line")
    return {i: f"{SCHEMA_REASON}: {_reason(text[i].as_py(), shaped, numeric)}" for (i,) in found}


def _reason(line: str, shaped: list[str], numeric: dict[str, str]) -> str:
    try:
        event = json.loads(line)
    except ValueError:  # pragma: no cover - DuckDB found it valid JSON
        return "a value of the wrong type"
    for key in shaped:
        value = event.get(key)
        if value is None:
            continue
        opener = _SHAPE_OPENERS[key]
        if (opener == "[" and not isinstance(value, list)) or \
                (opener == "{" and not isinstance(value, dict)):
            return f"{key} is not {_SHAPE_WORDS[key]} ({_describe(value)})"
    for key, kind in numeric.items():
        value = event.get(key)
        if isinstance(value, dict | list) or (isinstance(value, str) and not _number(value, kind)):
            return f"{key} is not a number ({_describe(value)})"
    return "a value of the wrong type"  # pragma: no cover - the SQL found one of the above


def _number(text: str, kind: str) -> bool:
    try:
        (int if kind == "BIGINT" else float)(text)
    except ValueError:
        return False
    return True


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    text = text if len(text) <= 60 else text[:57] + "..."
    kind = {str: "text", dict: "an object", list: "a list", bool: "a boolean"}.get(
        type(value), "a number")
    return f"{kind} {text}"


# --- the run's tally and summary ------------------------------------------------------------


@dataclass
class DriftTally:
    """What one run of the source read: for the summary line."""

    events: int = 0
    files: int = 0
    quarantined: int = 0
    #: column name -> the file it first appeared in
    new_columns: dict[str, str] = field(default_factory=dict)
    empty_files: list[str] = field(default_factory=list)

    @property
    def unusual(self) -> bool:
        return bool(self.new_columns or self.quarantined or self.empty_files)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES])
    return f" ({shown}{', ...' if len(names) > _MAX_NAMES else ''})" if names else ""


def summary(tally: DriftTally) -> str:
    """``ga4: 1,234 events from 59 files; 2 new columns (foo, bar); 3 lines quarantined; ...``"""
    columns = list(tally.new_columns)
    return (f"ga4: {_count(tally.events, 'event', 'events')} from "
            f"{_count(tally.files, 'file', 'files')}; "
            f"{_count(len(columns), 'new column', 'new columns')}{_names(columns)}; "
            f"{_count(tally.quarantined, 'line', 'lines')} quarantined; "
            f"{_count(len(tally.empty_files), 'empty file', 'empty files')}"
            f"{_names(tally.empty_files)}")


def log_summary(log: logging.Logger, tally: DriftTally) -> None:
    """The summary, at WARNING when anything is unusual (shown at the default level)."""
    log.log(logging.WARNING if tally.unusual else logging.INFO, "%s", summary(tally))
