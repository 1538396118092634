"""GA4 straight from its BigQuery export: ``bucket_url = "bigquery://<project>/<dataset>"``.

Why this path: a GA4 property exports to BigQuery (dataset ``analytics_<property id>``, a table
``events_YYYYMMDD`` a day and, on streaming properties, ``events_intraday_YYYYMMDD`` for
today); it never writes files by itself. Settings (``[sources.ga4]``, or
``SOURCES__GA4__<NAME>``): ``bigquery_credentials`` (a service-account or authorized-user JSON
file; unset: application default credentials; ``"anonymous"``: none, for an emulator),
``bigquery_location``, ``bigquery_api_endpoint`` (an emulator or the sandbox),
``bigquery_storage_api`` (``auto``: the Storage Read API when google-cloud-bigquery-storage is
installed and no endpoint is set; ``never``), ``bigquery_page_size`` (rows a REST page).

Cost: tables are read directly, never queried: tabledata.list is free and the Storage Read API
bills bytes read (no query bytes either way). The Storage path (Arrow, the fast one on real
BigQuery) cannot run against the sandbox, which serves REST only: it is untested here.

Same rows as the file path: each table row is turned into the export's JSON object (nulls and
empty lists left out, INT64 as numbers, RECORD fields in the table's order) and written as one
NDJSON line, then the file path's own reader (``ga4._parse_batch``: DuckDB ``read_json`` with
the fixed column types, drift tally, quarantine) loads it, so ``raw_ga4.events`` has the same
columns and types whichever path ran. A row that does not fit the table's schema goes to
``events_quarantine`` with the table in ``file_name`` and its 1-based row number in
``line_number``; its line stays blank, so line numbers are row numbers.

Incremental like the files: the newest daily table loaded is the cursor; every run re-reads the
daily tables after ``cursor - lookback_days`` and replaces those days (merge on
``event_date``). An intraday table is read when its day has no daily table yet (every run
replaces it); once the daily table lands, its day is read from it and replaces the intraday
rows. The cursor only counts daily tables.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import duckdb

from ingestion.common.errors import SourceHTTPError
from ingestion.common.notes import note_logger
from ingestion.sources import ga4
from ingestion.sources.ga4_drift import log_summary

logger = logging.getLogger(__name__)

URL = re.compile(r"^bigquery://(?P<project>[^/]+)/(?P<dataset>[^/]+)/?$")
TABLE = re.compile(r"^events_(?P<intraday>intraday_)?(?P<day>\d{8})$")
SCOPES = ("https://www.googleapis.com/auth/bigquery.readonly",)
#: How long the client retries a transient failure (its default is 10 minutes, which also
#: applies to an unreachable token endpoint).
RETRY_SECONDS = 120.0
_MAX_ROW_TEXT = 10_000


def _retry() -> Any:
    from google.cloud.bigquery import DEFAULT_RETRY

    return DEFAULT_RETRY.with_deadline(RETRY_SECONDS)


def is_bigquery(url: str | None) -> bool:
    return bool(url) and str(url).startswith("bigquery://")


@dataclass(frozen=True)
class Settings:
    project: str
    dataset: str
    credentials: str | None = None
    location: str | None = None
    api_endpoint: str | None = None
    storage_api: str = "auto"
    page_size: int = 20_000

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Settings:
        match = URL.match(url)
        if match is None:
            raise ValueError(f"ga4: bucket_url {url!r} is not bigquery://<project>/<dataset>")
        return cls(match["project"], match["dataset"],
                   **{k: v for k, v in kwargs.items() if v is not None})


class BigQueryRefused(SourceHTTPError):
    """The credentials were refused (by BigQuery or by the token endpoint): one line."""


# --- the client -----------------------------------------------------------------------------


def make_client(settings: Settings) -> Any:
    """A google-cloud-bigquery client with the configured credentials and endpoint."""
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    if settings.credentials == "anonymous":
        credentials: Any = AnonymousCredentials()
    elif settings.credentials:
        credentials = credentials_from_file(Path(settings.credentials))
    else:
        credentials, _ = google.auth.default(scopes=SCOPES)
    options = {"api_endpoint": settings.api_endpoint} if settings.api_endpoint else None
    return bigquery.Client(project=settings.project, credentials=credentials,
                           location=settings.location, client_options=options)


def credentials_from_file(path: Path) -> Any:
    """Credentials of a service-account or authorized-user JSON file, by its ``type`` (only
    these two: a file of another type is refused rather than trusted). Both honour the file's
    ``token_uri`` (google-auth's generic loader forces Google's for authorized users)."""
    from google.oauth2 import credentials as user
    from google.oauth2 import service_account

    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        kind = info.get("type")
        if kind == "service_account":
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        if kind == "authorized_user":
            return user.Credentials(
                None, refresh_token=info["refresh_token"], client_id=info["client_id"],
                client_secret=info["client_secret"], scopes=SCOPES,
                token_uri=info.get("token_uri", "https://oauth2.googleapis.com/token"),
                quota_project_id=info.get("quota_project_id"))
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise ValueError(f"ga4: bigquery_credentials {path.name} is not a usable credentials "
                         f"file ({what})") from None
    raise ValueError(f"ga4: bigquery_credentials {path.name} has type {kind!r}: use a "
                     "service_account or authorized_user file")


def refused(exc: BaseException, settings: Settings) -> SourceHTTPError | None:
    """A one-line error for what the API or the token endpoint said, or None when ``exc`` is
    not an API answer. Google's message never holds the token; the file is named, not read."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    where = f"{settings.project}.{settings.dataset}"
    if isinstance(exc, auth.RefreshError):
        args = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
        said = args.get("error") or str(exc.args[0] if exc.args else exc).split(":")[0]
        source = Path(settings.credentials).name if settings.credentials else "the default"
        return BigQueryRefused("ga4", 401, where,
                               f"the token endpoint refused the credentials ({source}): {said}")
    if isinstance(exc, api.GoogleAPICallError) and exc.code is not None:
        request = getattr(getattr(exc, "response", None), "request", None)
        path = urlsplit(request.url).path if request is not None else where
        said = [e.get("message") for e in exc.errors or [] if isinstance(e, dict)]
        text = said[0] if said and said[0] else re.sub(r"^[A-Z]+ \S+: ", "", exc.message or "")
        message = text.split(". ")[0].splitlines()[0] if text else ""
        kind = BigQueryRefused if exc.code in (401, 403) else SourceHTTPError
        return kind("ga4", int(exc.code), path, message)
    return None


def probe(bucket_url: str) -> str:
    """``northstar check``'s line: the export tables the credentials can list (one request)."""
    settings = Settings.from_url(bucket_url, **{
        key: dlt.config.get(f"sources.ga4.bigquery_{key}")
        or dlt.secrets.get(f"sources.ga4.bigquery_{key}")
        for key in ("credentials", "location", "api_endpoint")})
    try:
        names = [t.table_id for t in make_client(settings).list_tables(
            f"{settings.project}.{settings.dataset}", retry=_retry())]
    except Exception as exc:
        error = refused(exc, settings)
        if error is None:
            raise
        raise error from None
    days = plan(names, None, None)
    if not days:
        raise FileNotFoundError(f"no events_YYYYMMDD tables in {settings.project}."
                                f"{settings.dataset}")
    return f"{len(days)} daily export tables, {days[0][0]} .. {days[-1][0]}"


# --- rows -----------------------------------------------------------------------------------


class _Misfit(ValueError):
    """A cell that does not fit its field (the row is quarantined with this reason)."""


def _scalar(value: Any, kind: str, path: str) -> Any:
    if not isinstance(value, str):
        raise _Misfit(f"{path} is not a {kind} value")
    try:
        if kind in ("INTEGER", "INT64"):
            return int(value)
        if kind in ("FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"):
            return float(value)
    except ValueError:
        raise _Misfit(f"{path}: {value[:40]!r} is not {kind}") from None
    if kind in ("BOOLEAN", "BOOL"):
        if value not in ("true", "false"):
            raise _Misfit(f"{path}: {value[:40]!r} is not BOOLEAN")
        return value == "true"
    return value


def _value(cell: Any, field: Any, path: str) -> Any:
    """A cell's ``v`` as the export's JSON value (None for null or an empty list)."""
    if field.mode == "REPEATED":
        if not isinstance(cell, list):
            raise _Misfit(f"{path} is not a list")
        items = [_value(item.get("v") if isinstance(item, dict) else item,
                        _Single(field), path) for item in cell]
        return items or None
    if cell is None:
        return None
    if field.field_type in ("RECORD", "STRUCT"):
        if not isinstance(cell, dict) or not isinstance(cell.get("f"), list):
            raise _Misfit(f"{path} is not a RECORD")
        return _record(cell["f"], field.fields, path + ".")
    return _scalar(cell, field.field_type, path)


class _Single:
    """A REPEATED field's element: the same field, NULLABLE."""

    mode = "NULLABLE"

    def __init__(self, field: Any) -> None:
        self.field_type, self.fields, self.name = field.field_type, field.fields, field.name


def _record(cells: list[Any], fields: Any, prefix: str = "") -> dict[str, Any]:
    if len(cells) != len(fields):
        raise _Misfit(f"row has {len(cells)} cell(s), the schema {len(fields)} field(s)"
                      if not prefix else f"{prefix[:-1]} has {len(cells)} of {len(fields)} fields")
    out = {}
    for cell, field in zip(cells, fields, strict=True):
        value = _value(cell.get("v") if isinstance(cell, dict) else cell, field,
                       prefix + field.name)
        if value is not None:
            out[field.name] = value
    return out


def row_json(row: Any, schema: Any) -> str:
    """One tabledata.list row (``{"f": [{"v": ...}]}``) as the export's JSON line."""
    if not isinstance(row, dict) or not isinstance(row.get("f"), list):
        raise _Misfit("row is not an {f: [...]} object")
    return json.dumps(_record(row["f"], schema), separators=(",", ":"), ensure_ascii=False)


def _pruned(value: Any) -> Any:
    """A Storage API (Arrow) value as the export's JSON value: nulls and empty lists left out."""
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value] or None
    return value


# --- reading a table ------------------------------------------------------------------------


def read_rest(client: Any, table: Any, out: Path, page_size: int
              ) -> list[tuple[int, str, str]]:
    """Every row of ``table`` through tabledata.list into ``out`` (one line a row, blank for a
    row that does not fit); returns the misfits as (row number, reason, row text)."""
    bad: list[tuple[int, str, str]] = []
    number = 0
    with out.open("w", encoding="utf-8") as sink:
        for page in client.list_rows(table, page_size=page_size, retry=_retry()).pages:
            lines = []
            for row in page.raw_page.get("rows", []):
                number += 1
                try:
                    lines.append(row_json(row, table.schema))
                except _Misfit as exc:
                    bad.append((number, f"{ga4.SCHEMA_REASON}: {exc}",
                                json.dumps(row)[:_MAX_ROW_TEXT]))
                    lines.append("")
            sink.write("\n".join(lines) + "\n" if lines else "")
    return bad


def read_storage(client: Any, table: Any, out: Path, storage: Any) -> list[tuple[int, str, str]]:
    """Every row of ``table`` through the Storage Read API (Arrow) into ``out``. Untested here:
    the sandbox serves REST only."""
    with out.open("w", encoding="utf-8") as sink:
        for batch in client.list_rows(table).to_arrow_iterable(bqstorage_client=storage):
            sink.write("".join(json.dumps(_pruned(r), separators=(",", ":"),
                                          ensure_ascii=False) + "\n"
                               for r in batch.to_pylist()))
    return []


def storage_client(client: Any, settings: Settings) -> Any | None:
    """A BigQuery Storage read client when asked for and installed, else None (REST)."""
    if settings.storage_api == "never" or (settings.api_endpoint and
                                           settings.storage_api != "always"):
        return None
    try:
        from google.cloud import bigquery_storage
    except ImportError:
        if settings.storage_api == "always":
            raise ValueError("ga4: bigquery_storage_api = always needs the "
                             "google-cloud-bigquery-storage package") from None
        return None
    return bigquery_storage.BigQueryReadClient(credentials=client._credentials)


def plan(names: list[str], since: str | None, start_day: str | None) -> list[tuple[str, str]]:
    """(day, table) to read: daily tables after ``since``, and intraday tables of days with
    no daily table yet, from ``start_day`` on; sorted by day."""
    daily: dict[str, str] = {}
    intraday: dict[str, str] = {}
    for name in names:
        match = TABLE.match(name)
        if match:
            (intraday if match["intraday"] else daily)[match["day"]] = name
    chosen = {**{d: n for d, n in intraday.items() if d not in daily}, **daily}
    return sorted((d, n) for d, n in chosen.items()
                  if (since is None or d > since) and (start_day is None or d >= start_day))


# --- the resource ---------------------------------------------------------------------------


def events_resource(settings: Settings, start_day: str | None, lookback_days: int,
                    workers: int, batch_files: int) -> Any:
    """The ``events`` resource (and its quarantine) read from the BigQuery export dataset."""

    @dlt.resource(name="events", table_name="events", write_disposition=ga4.MERGE,
                  merge_key="event_date",
                  columns={name: {"data_type": "json"} for name in ga4.NESTED_COLUMNS})
    def events() -> Iterator[Any]:
        state = dlt.current.resource_state()
        last_day: str | None = state.get("last_day")
        since = ga4._minus_days(last_day, lookback_days) if last_day else None
        disposition: Any = ga4.MERGE if last_day else "replace"
        try:
            yield from _read(settings, state, since, start_day, disposition, workers,
                             batch_files)
        except Exception as exc:
            error = refused(exc, settings)
            if error is None:
                raise
            raise error from None

    return events


def _read(settings: Settings, state: dict[str, Any], since: str | None, start_day: str | None,
          disposition: Any, workers: int, batch_files: int) -> Iterator[Any]:
    client = make_client(settings)
    dataset = f"{settings.project}.{settings.dataset}"
    tables = plan([t.table_id for t in client.list_tables(dataset, retry=_retry())], since, start_day)
    logger.info("ga4: %d BigQuery table(s) to read after %s", len(tables), since or start_day or "-")
    storage = storage_client(client, settings) if tables else None
    drift = ga4._Drift.start()
    con = duckdb.connect()
    hinter = ga4.EventsHinter(disposition)
    with tempfile.TemporaryDirectory(prefix="northstar_ga4_bq_") as tmp_dir, \
            ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        tmp = Path(tmp_dir)

        def fetch(day_table: tuple[str, str]) -> tuple[str, list[tuple[int, str, str]]]:
            table = client.get_table(f"{dataset}.{day_table[1]}", retry=_retry())
            out = tmp / f"{day_table[1]}.ndjson"
            if storage is not None:
                return str(out), read_storage(client, table, out, storage)
            return str(out), read_rest(client, table, out, settings.page_size)

        for batch in ga4._batches(tables, max(1, batch_files)):
            fetched = list(pool.map(fetch, batch))
            named = [(day, f"{settings.dataset}.{name}") for day, name in batch]
            rows, quarantined, columns = ga4._parse_batch(con, named, [p for p, _ in fetched],
                                                          tmp, drift)
            for (day, name), (_, bad) in zip(named, fetched, strict=True):
                if bad:
                    logger.warning("ga4: %s has %d row(s) that do not fit, quarantined "
                                   "(first: row %d, %s)", name, len(bad), bad[0][0], bad[0][1])
                    quarantined.append(ga4._quarantine(day, name, bad))
                    drift.tally.quarantined += len(bad)
            yield from hinter.items(rows, quarantined, columns)
            for path, _ in fetched:
                Path(path).unlink(missing_ok=True)
            daily = [day for day, name in batch if not TABLE.match(name)["intraday"]]
            if daily:
                state["last_day"] = max(max(daily), state.get("last_day") or "")
    shutil.rmtree(tmp, ignore_errors=True)
    con.close()
    log_summary(note_logger("ga4"), drift.tally)
