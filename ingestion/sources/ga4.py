"""GA4 BigQuery-export files loaded into ``raw_ga4``: one gzipped NDJSON a day, or EXPORT
DATA's shards of a day (``events_YYYYMMDD-000000000000.json.gz``, ``.parquet``), all read as
that day (``list_day_files``; Parquet: ingestion/sources/ga4_parquet.py).

Configuration (dlt config / environment):
- ``SOURCES__GA4__BUCKET_URL``  any fsspec location holding ``events_YYYYMMDD[-<shard>].json[.gz]``
  or ``.parquet``: a local folder, ``gs://`` (gcsfs), ``s3://`` (s3fs) or a static web server's
  index (``http://host/ga4/``). ``storage_options``: the filesystem's keyword arguments
  (``endpoint_url`` of an S3-compatible store, gcsfs's ``token``...); credentials otherwise
  come from the cloud's own chain (``AWS_*``, application default credentials).
- ``SOURCES__GA4__START_DATE``  first day to load (ISO date), optional.
- ``SOURCES__GA4__CONNECT_TIMEOUT`` / ``__READ_TIMEOUT``  seconds (default 10 / 60) for an
  ``http(s)://`` bucket: fsspec's HTTP filesystem would otherwise wait up to aiohttp's five
  minutes per request. Each request is retried by the rule every source shares
  (``ingestion.common.retries``: dlt's ``RUNTIME__REQUEST_*`` settings, default 5 attempts);
  a server that never answers fails the source in one line naming the file and the seconds.
  For ``gs://`` / ``s3://`` pass the client's own timeouts in
  ``storage_options``.

Tables:
- ``events``  one row per event, the export's columns. Scalars have fixed types (``event_date``
  VARCHAR ``YYYYMMDD`` as exported, ``event_timestamp`` / ``user_first_touch_timestamp`` BIGINT
  microseconds, the rest VARCHAR). The nested records (``event_params``, ``device``, ``geo``,
  ``traffic_source``, ``collected_traffic_source``) are DuckDB ``JSON`` columns holding the
  export's own JSON text. Why not Arrow list<struct>: dlt has one nested type, ``json``, so a
  list<struct> column lands as JSON anyway, and DuckDB's STRUCT -> JSON cast at load time cost
  ~11 s of a 21 s load of 2M events (ratio 0.35 against DuckDB's read_json); passing the text
  through costs nothing and is as queryable. A parameter::

      select (p ->> '$.value.int_value')::bigint as ga_session_id
      from raw_ga4.events, unnest(event_params::json[]) as u(p)
      where p ->> '$.key' = 'ga_session_id'

  or typed structs again with ``unnest(json_transform(event_params, '[{"key": "VARCHAR",
  "value": {"string_value": "VARCHAR", "int_value": "BIGINT", "double_value": "DOUBLE"}}]'))``.
  Schema drift (ingestion/sources/ga4_drift.py): every line's top-level keys are read, so a
  field the schema does not know becomes a new column wherever it first appears (known export
  fields such as ``is_active_user`` with their type, others as JSON); a known field whose type
  changes never changes its column: the line is quarantined. So is a line whose REPEATED
  record (``event_params``, ``user_properties``, ``items``) is not a list, whose RECORD
  (``device``, ``geo``, ...) is not an object, or whose integer field (``event_timestamp``...)
  is not a number. An empty file is reported. Each run logs one summary line (events, files,
  new columns, quarantined lines, empty files), at WARNING when any of the last three is not
  zero; ``northstar ingest`` prints it under the source's line.
- ``events_quarantine``  lines that could not be loaded: ``event_date`` (the file's day),
  ``file_name`` (the shard), ``line_number`` (1-based, in the decompressed file; a Parquet
  file's row number; 0 for a file that does not read at all), ``reason`` and ``line`` (the
  text, cut at 10,000 characters). The rest of the file loads.

Incremental by day: the newest loaded day is kept in dlt resource state (restored from the
warehouse when the local pipeline folder is missing). Each run reads the files whose day is
after ``last day - lookback_days`` (GA4 keeps adding late events to the last days' tables) and
replaces those days as a whole: ``merge`` with the ``delete-insert`` strategy and
``merge_key="event_date"``, on both tables, so re-reads never duplicate. A day is the unit
replaced, whatever its files: every shard of a re-read day is read in the same run (one load
package, one staging table), so a day that gained a shard is replaced by all of them. A run with no cursor
(first load, or a warehouse without state) is a full load: ``replace``, written straight into
the tables without the staging copy a merge makes (half the load time of a backfill).

Fast path: no per-row Python. Remote files are fetched in a thread pool (retrying transient
errors and 429s, honouring ``Retry-After``: ``ingestion.common.retries``) into a temporary
folder, local ones are read in
place. Per batch of files, one DuckDB query reads every line's keys (and counts each file's
objects: an empty file is told apart from a broken one), then DuckDB's ``read_json`` parses
the batch at once with an explicit ``columns=`` schema and hands dlt an Arrow table (written as
parquet), whose record columns are checked for their shape by their first character. Only when
a batch fails are its files read one by one; a failing file is split into lines, validated at
once with DuckDB's ``json_valid`` and checked for misshapen values, the good lines read again,
and (rarely: valid JSON whose values still do not fit the schema) bisected to find the misfits.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb
import fsspec
import pyarrow as pa
from dlt.extract.exceptions import CurrentSourceSchemaNotAvailable

from ingestion.common.http_client import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Timeouts
from ingestion.common.notes import note_logger
from ingestion.common.retries import Retries
from ingestion.sources import ga4_storage
from ingestion.sources.ga4_drift import (
    SCHEMA_REASON,
    DriftTally,
    is_blank,
    line_keys,
    log_summary,
    misfit_lines,
    misshapen,
    readable,
    scan_batch,
)

logger = logging.getLogger(__name__)

SOURCE = "ga4"

FILE_NAME = re.compile(
    r"(?:^|/)events_(?P<day>\d{8})(?:-(?P<shard>\d+))?\.(?P<ext>json\.gz|json|parquet|avro)$")
#: A shard found in several formats is read from the first of these.
_FORMATS = ("json.gz", "json", "parquet", "avro")
#: The export's scalar columns with fixed types: every file yields the same column types.
SCALAR_COLUMNS = {
    "event_date": "VARCHAR",
    "event_timestamp": "BIGINT",
    "event_name": "VARCHAR",
    "user_id": "VARCHAR",
    "user_pseudo_id": "VARCHAR",
    "user_first_touch_timestamp": "BIGINT",
    "platform": "VARCHAR",
    "stream_id": "VARCHAR",
}
#: The export's nested records: kept as the export's JSON text (DuckDB ``JSON``, see above).
NESTED_COLUMNS = ("event_params", "device", "geo", "traffic_source", "collected_traffic_source")
#: Export fields the simulated export does not write: typed when a file has them.
OPTIONAL_COLUMNS = {
    "event_previous_timestamp": "BIGINT",
    "event_value_in_usd": "DOUBLE",
    "event_bundle_sequence_id": "BIGINT",
    "event_server_timestamp_offset": "BIGINT",
    "batch_event_index": "BIGINT",
    "batch_page_id": "BIGINT",
    "batch_ordering_id": "BIGINT",
    "is_active_user": "BOOLEAN",
    "user_properties": "JSON",
    "user_ltv": "JSON",
    "privacy_info": "JSON",
    "app_info": "JSON",
    "event_dimensions": "JSON",
    "ecommerce": "JSON",
    "items": "JSON",
    "session_traffic_source_last_click": "JSON",
    "publisher": "JSON",
}
BASE_COLUMNS = {
    **{k: v for k, v in SCALAR_COLUMNS.items() if k not in ("platform", "stream_id")},
    **dict.fromkeys(NESTED_COLUMNS, "JSON"),
    "platform": "VARCHAR",
    "stream_id": "VARCHAR",
}
QUARANTINE_TABLE = "events_quarantine"
QUARANTINE_SCHEMA = pa.schema([
    ("event_date", pa.string()),
    ("file_name", pa.string()),
    ("line_number", pa.int64()),
    ("reason", pa.string()),
    ("line", pa.string()),
])
_MAX_LINE_CHARS = 10_000

MERGE = {"disposition": "merge", "strategy": "delete-insert"}


# --- fetching -------------------------------------------------------------------------------


def http_timeouts(bucket_url: str, storage_options: dict[str, Any] | None,
                  timeouts: Timeouts) -> dict[str, Any]:
    """``storage_options`` with aiohttp connect/read timeouts for an ``http(s)://`` bucket
    (unless the options already set ``client_kwargs.timeout``)."""
    options = dict(storage_options or {})
    if fsspec.utils.get_protocol(bucket_url) in ("http", "https"):
        import aiohttp

        client_kwargs = dict(options.get("client_kwargs") or {})
        client_kwargs.setdefault("timeout", aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.connect, sock_read=timeouts.read))
        options["client_kwargs"] = client_kwargs
    return options


def list_day_files(fs: fsspec.AbstractFileSystem, root: str, retries: Retries | None = None,
                   timeouts: Timeouts | None = None) -> list[tuple[str, str]]:
    """``(day YYYYMMDD, path)`` of the export files directly under ``root``, sorted by day
    and shard: a day is one ``events_YYYYMMDD.<ext>`` or EXPORT DATA's shards
    ``events_YYYYMMDD-<n>.<ext>`` (``<ext>``: ``json.gz``, ``json``, ``parquet``), every one
    read as that day.

    One name in several formats is read once (json.gz, then json, then parquet). A day with
    both a whole file and shards (shards joined into one file next to them) reads the whole
    file only, with a warning. Avro is refused in one line: DuckDB reads it only through an
    extension downloaded at run time, and fastavro would mean per-row Python on the fast
    path; EXPORT DATA writes the same rows as Parquet or JSON.
    """
    retries = retries or Retries.from_runtime()
    fs.invalidate_cache(root)  # fsspec keeps filesystems and listings: see shards added since
    names = retries.call(lambda: fs.ls(root, detail=False), f"listing {root}", SOURCE, timeouts)
    found: dict[tuple[str, int], tuple[int, str]] = {}  # (day, shard) -> (preference, path)
    for name in names:
        match = FILE_NAME.search(name.rstrip("/"))
        if match is None:
            continue
        key = (match["day"], int(match["shard"]) if match["shard"] else -1)
        rank = _FORMATS.index(match["ext"])
        if key not in found or rank < found[key][0]:
            found[key] = (rank, name)
    files: list[tuple[str, str]] = []
    for (day, shard), (_, path) in sorted(found.items()):
        if shard >= 0 and (day, -1) in found:
            if shard == min(s for d, s in found if d == day and s >= 0):
                logger.warning("ga4: events_%s has a whole file and shards: reading %s only",
                               day, found[(day, -1)][1].rsplit("/", 1)[-1])
            continue
        if path.endswith(".avro"):
            raise ValueError(f"{path.rsplit('/', 1)[-1]} is Avro, which the GA4 source does not "
                             "read: export with format = 'PARQUET' or 'JSON'")
        files.append((day, path))
    return files


# --- parsing --------------------------------------------------------------------------------


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _columns_sql(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_str(k)}: {_sql_str(v)}" for k, v in columns.items()) + "}"


def _read_json(con: duckdb.DuckDBPyConnection, paths: list[str], columns: dict[str, str]
               ) -> pa.Table:
    """DuckDB's parallel NDJSON reader with an explicit schema (raises on any bad line)."""
    files = "[" + ", ".join(_sql_str(p) for p in paths) + "]"
    return con.sql(
        f"select * from read_json({files}, format='newline_delimited', "
        f"columns={_columns_sql(columns)}, maximum_object_size=67108864)"
    ).to_arrow_table()


def columns_for(keys: Iterable[str]) -> dict[str, str]:
    """The read schema: the export's columns, then every other key of ``keys``.

    Known optional export fields get their type; fields nobody knows come as ``JSON``
    (their raw JSON text), so a new field shows up as a new column instead of vanishing.
    """
    columns = dict(BASE_COLUMNS)
    for key in sorted(keys):
        columns.setdefault(key, OPTIONAL_COLUMNS.get(key, "JSON"))
    return columns


def _fit(con: duckdb.DuckDBPyConnection, tmp: Path, lines: list[str], numbers: list[int],
         columns: dict[str, str], out: list[tuple[int, str, str]]) -> list[int]:
    """Indexes of ``lines`` that read under ``columns``; the others go to ``out`` with the reason.

    Bisects, so only for valid JSON objects whose values do not fit the schema (rare).
    """
    path = tmp / "fit.ndjson"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        _read_json(con, [str(path)], columns)
        return list(range(len(lines)))
    except duckdb.Error as exc:
        if len(lines) == 1:
            reason = str(exc).split("\n", 1)[0].replace(str(path), "<line>")
            out.append((numbers[0], f"{SCHEMA_REASON}: {reason}", lines[0]))
            return []
    half = len(lines) // 2
    left = _fit(con, tmp, lines[:half], numbers[:half], columns, out)
    right = _fit(con, tmp, lines[half:], numbers[half:], columns, out)
    return left + [half + i for i in right]


def parse_with_quarantine(con: duckdb.DuckDBPyConnection, path: str, columns: dict[str, str],
                          tmp: Path) -> tuple[pa.Table | None, list[tuple[int, str, str]],
                                              dict[str, str]]:
    """The slow path for one file that failed to read: its good rows, its bad lines, and the
    columns read (``columns`` plus any key found in this file's lines).

    Lines are validated at once with DuckDB's ``json_valid``, then checked for misshapen
    records and non-numeric numbers (ga4_drift.misfit_lines); good lines are read again with
    the schema; bad ones come back as (1-based line number, reason, text).
    """
    data, broken = readable(path)
    lines = data.decode("utf-8", "replace").split("\n")
    cut = lines.pop() if lines else ""  # "" after a final newline; else a line cut short
    cut_at = len(lines) + 1
    if broken is None and cut.strip():
        lines.append(cut)  # a last line without a newline is a whole line
    arr = pa.table({"line": pa.array(lines, pa.string())})
    checked = con.sql(
        "select case when json_valid(line) then json_type(line) = 'OBJECT' else false end as ok, "
        "trim(line) = '' as blank from arr"
    ).to_arrow_table()
    valid = checked.column("ok").to_pylist()
    blank = checked.column("blank").to_pylist()
    bad = [(i + 1, "invalid JSON: not a complete JSON object (truncated or corrupt line)", line)
           for i, (line, ok, empty) in enumerate(zip(lines, valid, blank, strict=True))
           if not ok and not empty]
    if broken is not None:
        bad.append((cut_at, f"unreadable file: {broken}; lines from {cut_at} on are missing", cut))
    candidates = [i for i, (ok, empty) in enumerate(zip(valid, blank, strict=True))
                  if ok and not empty]
    columns = {**columns, **columns_for(line_keys(con, arr))}  # a key's type is fixed by name
    misfits = misfit_lines(con, arr, candidates, columns) if candidates else {}
    bad += [(i + 1, reason, lines[i]) for i, reason in misfits.items()]
    numbers = [i + 1 for i in candidates if i not in misfits]
    good = [lines[n - 1] for n in numbers]
    bad.sort()
    if not good:
        return None, bad, columns
    good_path = tmp / "good.ndjson"
    good_path.write_text("\n".join(good) + "\n", encoding="utf-8")
    try:
        table = _read_json(con, [str(good_path)], columns)
    except duckdb.Error:
        fitting = _fit(con, tmp, good, numbers, columns, bad)
        good_path.write_text("\n".join(good[i] for i in fitting) + "\n", encoding="utf-8")
        table = _read_json(con, [str(good_path)], columns) if fitting else None
        bad.sort()
    return table, bad, columns


def _quarantine(day: str, file_name: str, bad: list[tuple[int, str, str]]) -> pa.Table:
    return pa.table({
        "event_date": [day] * len(bad),
        "file_name": [file_name] * len(bad),
        "line_number": [n for n, _, _ in bad],
        "reason": [r for _, r, _ in bad],
        "line": [t[:_MAX_LINE_CHARS] for _, _, t in bad],
    }, schema=QUARANTINE_SCHEMA)


def _fetch(fs: fsspec.AbstractFileSystem, path: str, tmp: Path, retries: Retries,
           timeouts: Timeouts | None = None) -> str:
    """A local path holding the file's bytes: the file itself when ``fs`` is local."""
    if _is_local(fs):
        return path
    try:
        data = retries.call(lambda: fs.cat_file(path), f"reading {path}", SOURCE, timeouts)
    except Exception as exc:  # a refused credential (listing was allowed): one line naming the file
        error = ga4_storage.refused(exc, fs.unstrip_protocol(path))
        if error is None:
            raise
    else:
        error = None
    if error is not None:
        raise error
    local = tmp / path.rsplit("/", 1)[-1]
    local.write_bytes(data)
    return str(local)


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def _batches(files: list[tuple[str, str]], batch_files: int) -> Iterator[list[tuple[str, str]]]:
    for i in range(0, len(files), batch_files):
        yield files[i:i + batch_files]


def _format_batches(files: list[tuple[str, str]], batch_files: int
                    ) -> Iterator[list[tuple[str, str]]]:
    """``_batches`` of files of one format each (JSON and Parquet are parsed apart)."""
    run: list[tuple[str, str]] = []
    for item in files:
        if run and (len(run) == batch_files or _is_parquet(run[0][1]) != _is_parquet(item[1])):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def _is_parquet(path: str) -> bool:
    return path.endswith(".parquet")


# --- the source -----------------------------------------------------------------------------


def _day(value: str | date | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    return datetime.strptime(str(value).replace("-", "")[:8], "%Y%m%d").strftime("%Y%m%d")


def _minus_days(day: str, days: int) -> str:
    return (datetime.strptime(day, "%Y%m%d") - timedelta(days=days)).strftime("%Y%m%d")


@dlt.source(name="ga4")
def ga4_source(bucket_url: str = dlt.config.value, start_date: str | None = None,
               lookback_days: int = 3, workers: int = 4, batch_files: int = 32,
               storage_options: dict[str, Any] | None = None,
               connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
               read_timeout: float = DEFAULT_READ_TIMEOUT,
               bigquery_credentials: str | None = None, bigquery_location: str | None = None,
               bigquery_api_endpoint: str | None = None, bigquery_storage_api: str | None = None,
               bigquery_page_size: int | None = None) -> Any:
    """GA4 export files under ``bucket_url`` (one ``events_YYYYMMDD.json.gz`` a day), or the
    BigQuery export itself when ``bucket_url`` is ``bigquery://<project>/<dataset>`` (the
    ``bigquery_*`` settings: ingestion/sources/ga4_bigquery.py).

    ``lookback_days``: how many days before the newest loaded day are re-read (and replaced)
    on every run, for GA4's late events. ``workers``: remote files fetched in parallel.
    ``batch_files``: files parsed together by DuckDB and yielded as one Arrow table.
    """
    start_day = _day(start_date)
    if bucket_url.startswith("bigquery://"):
        from ingestion.sources import ga4_bigquery

        settings = ga4_bigquery.Settings.from_url(
            bucket_url, credentials=bigquery_credentials, location=bigquery_location,
            api_endpoint=bigquery_api_endpoint, storage_api=bigquery_storage_api,
            page_size=bigquery_page_size)
        return ga4_bigquery.events_resource(settings, start_day, lookback_days, workers,
                                            batch_files)
    timeouts = Timeouts(connect_timeout, read_timeout)
    options = http_timeouts(bucket_url, storage_options, timeouts)

    @dlt.resource(name="events", table_name="events", write_disposition=MERGE,
                  merge_key="event_date",
                  columns={name: {"data_type": "json"} for name in NESTED_COLUMNS})
    def events() -> Iterator[Any]:
        state = dlt.current.resource_state()
        last_day: str | None = state.get("last_day")
        since = _minus_days(last_day, lookback_days) if last_day else None
        # no cursor (also none restored from the warehouse): a full load, written straight
        # into the tables (no staging copy); with a cursor, re-read days are replaced by merge
        disposition: Any = MERGE if last_day else "replace"
        hinter = EventsHinter(disposition)
        retries = Retries.from_runtime()  # the rule every source shares
        try:
            fs, root = fsspec.core.url_to_fs(bucket_url, **options)
            listed = list_day_files(fs, root, retries, timeouts)
        except Exception as exc:  # a refused credential: one line naming the bucket
            error = ga4_storage.refused(exc, bucket_url)
            if error is None:
                raise
        else:
            error = None
        if error is not None:
            raise error  # outside the handler: no chain of the client's frames
        files = [(day, path) for day, path in listed
                 if (since is None or day > since) and (start_day is None or day >= start_day)]
        logger.info("ga4: %d file(s) to read after %s", len(files), since or start_day or "-")
        batches = list(_format_batches(files, max(1, batch_files)))
        drift = _Drift.start()
        con = duckdb.connect()
        with tempfile.TemporaryDirectory(prefix="northstar_ga4_") as tmp_dir, \
                ThreadPoolExecutor(max_workers=max(1, workers)) as pool, \
                ThreadPoolExecutor(max_workers=1) as parser:
            tmp = Path(tmp_dir)

            def fetch(i: int) -> list[Future[str]]:
                folder = tmp / f"batch_{i}"
                folder.mkdir()
                return [pool.submit(_fetch, fs, path, folder, retries, timeouts)
                        for _, path in batches[i]]

            def parse(i: int, fetched: list[Future[str]]) -> tuple[Any, ...]:
                """Batch ``i`` parsed (in the parser thread, one batch at a time, so DuckDB is
                never used by two threads at once), and batch ``i + 1`` being fetched."""
                local = [f.result() for f in fetched]
                ahead = fetch(i + 1) if i + 1 < len(batches) else []  # overlaps the parse
                return *_parse_batch(con, batches[i], local, tmp, drift), ahead

            # batch i + 1 is parsed while dlt writes batch i: the key scan and the read keep
            # DuckDB busy on one core while dlt's parquet writing holds the other
            pending = parser.submit(parse, 0, fetch(0)) if batches else None
            for i, batch in enumerate(batches):
                table, quarantined, columns, ahead = pending.result()
                pending = parser.submit(parse, i + 1, ahead) if i + 1 < len(batches) else None
                yield from hinter.items(table, quarantined, columns)
                shutil.rmtree(tmp / f"batch_{i}", ignore_errors=True)
                state["last_day"] = max(batch[-1][0], state.get("last_day") or "")
        con.close()
        log_summary(note_logger("ga4"), drift.tally)

    return events


class _Drift:
    """This run's tally, and which columns the warehouse already had when it began.

    A field is reported as a new column once, with the file it first appeared in, unless the
    table already has that column (a re-read of the days that brought it) or it is one of the
    export's base columns.
    """

    def __init__(self, existing: set[str], normalize: Callable[[str], str]) -> None:
        self.tally = DriftTally()
        self.existing = existing
        self.normalize = normalize

    @classmethod
    def start(cls) -> _Drift:
        try:
            schema = dlt.current.source_schema()
        except CurrentSourceSchemaNotAvailable:  # iterated outside a pipeline
            return cls(set(), str)
        columns = schema.tables.get("events", {}).get("columns", {})
        return cls(set(columns), schema.naming.normalize_identifier)

    def saw(self, keys: Iterable[str], file_name: str) -> None:
        for key in sorted(keys):
            if key in BASE_COLUMNS:
                continue
            name = self.normalize(key)
            if name in self.existing or name in self.tally.new_columns:
                continue
            self.tally.new_columns[name] = file_name
            logger.warning("ga4: new field %s in %s: loaded as column %s (%s)", key, file_name,
                           name, OPTIONAL_COLUMNS.get(key, "JSON"))

    def empty(self, file_name: str) -> None:
        self.tally.empty_files.append(file_name)
        logger.warning("ga4: %s is empty (no events in it): nothing loaded from it", file_name)


class EventsHinter:
    """The hints a batch of events goes out with, the same for files and BigQuery tables.

    The first item sets this run's write disposition; fields nobody knew, read as JSON, are
    declared JSON too (when they first appear); quarantined rows go to their own table with
    the same disposition and merge key.
    """

    def __init__(self, disposition: Any) -> None:
        self.disposition = disposition
        self.json_columns = set(NESTED_COLUMNS)
        self.hinted = False

    def items(self, rows: pa.Table | None, quarantined: list[pa.Table],
              columns: dict[str, str]) -> Iterator[Any]:
        if rows is not None:
            new_json = {c for c, t in columns.items() if t == "JSON"} - self.json_columns
            if not self.hinted or new_json:
                self.json_columns |= new_json
                rows = dlt.mark.with_hints(rows, dlt.mark.make_hints(
                    write_disposition=self.disposition,
                    columns={c: {"data_type": "json"} for c in sorted(self.json_columns)}))
                self.hinted = True
            yield rows
        for bad in quarantined:
            yield dlt.mark.with_hints(bad, dlt.mark.make_hints(
                table_name=QUARANTINE_TABLE, write_disposition=self.disposition,
                merge_key="event_date"), create_table_variant=True)


def _read_shaped(con: duckdb.DuckDBPyConnection, paths: list[str], columns: dict[str, str]
                 ) -> pa.Table | None:
    """The fast path: ``paths`` read at once, or None if some line does not read or has a
    misshapen record (the caller then goes file by file, and line by line)."""
    try:
        table = _read_json(con, paths, columns)
    except duckdb.Error:
        return None
    return None if misshapen(table) else table


def _parse_batch(con: duckdb.DuckDBPyConnection, batch: list[tuple[str, str]], local: list[str],
                 tmp: Path, drift: _Drift
                 ) -> tuple[pa.Table | None, list[pa.Table], dict[str, str]]:
    """One batch of files: its rows (all files at once, or file by file if some line is bad),
    the quarantine tables of the files with bad lines, and the columns read."""
    if batch and _is_parquet(batch[0][1]):
        from ingestion.sources import ga4_parquet

        return ga4_parquet.parse_batch(con, batch, local, tmp, drift)
    names = {path: remote.rsplit("/", 1)[-1] for (_, remote), path in zip(batch, local, strict=True)}
    days = {path: day for (day, _), path in zip(batch, local, strict=True)}
    sized = [p for p in local if Path(p).stat().st_size > 0]
    scans, unscanned = scan_batch(con, sized)
    files = []
    for path in local:
        scan = scans.get(path)
        if path not in unscanned and (scan is None or scan.objects == 0) and is_blank(path):
            drift.empty(names[path])
            continue
        files.append(path)
        if scan is not None:
            drift.saw(scan.keys, names[path])
    drift.tally.files += len(batch)
    columns = columns_for(key for scan in scans.values() for key in scan.keys)
    scanned = [p for p in files if p not in unscanned]
    whole = _read_shaped(con, scanned, columns) if scanned else None
    tables = [whole] if whole is not None else []
    one_by_one = [p for p in files if p in unscanned or whole is None]
    quarantined = []
    for path in one_by_one:
        table = _read_shaped(con, [path], columns) if path not in unscanned else None
        if table is None:
            table, bad, read_columns = parse_with_quarantine(con, path, columns, tmp)
            drift.saw(set(read_columns) - set(columns), names[path])
            columns = {**columns, **read_columns}
            if bad:
                number, reason, _ = bad[0]
                logger.warning("ga4: %s has %d bad line(s), quarantined (first: line %d, %s)",
                               names[path], len(bad), number, reason)
                quarantined.append(_quarantine(days[path], names[path], bad))
                drift.tally.quarantined += len(bad)
        if table is not None:
            tables.append(table)
    rows = pa.concat_tables(tables, promote_options="permissive") if tables else None
    drift.tally.events += rows.num_rows if rows is not None else 0
    return rows, quarantined, columns
