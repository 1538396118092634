"""The GA4 BigQuery export as BigQuery's REST API serves it: datasets, tables, tabledata.list.

Why: a real GA4 property exports to BigQuery (dataset ``analytics_<property id>``, one table
``events_YYYYMMDD`` a day, ``events_intraday_YYYYMMDD`` on streaming properties), and
google-cloud-bigquery reads it with ``tables.get`` + ``tabledata.list``. Serving those
endpoints lets the real client run here (``client_options={"api_endpoint": base_url}``).

The tables are the export files in ``world.ga4_dir`` (the same simulated events the file path
reads): ``events_YYYYMMDD.json.gz`` is table ``events_YYYYMMDD`` and
``events_intraday_YYYYMMDD.json.gz`` is table ``events_intraday_YYYYMMDD``. Rows come in the
order of the file's lines, in BigQuery's ``f``/``v`` encoding under the export's schema
(:data:`GA4_SCHEMA`): every scalar a string (INT64 as digits, BOOL as ``"true"``), a RECORD
``{"v": {"f": [...]}}``, a REPEATED field ``{"v": [{"v": ...}, ...]}`` (never null: ``[]``),
fields the line lacks ``{"v": null}``. A line that is not JSON (``--malformed-rate``) is
served as a row of one cell holding its text: a row that does not fit the schema, for the
reader to quarantine.

Paths (``/bigquery/v2/projects/{project}/...``): ``datasets``, ``datasets/{d}``,
``datasets/{d}/tables``, ``datasets/{d}/tables/{t}``, ``datasets/{d}/tables/{t}/data``
(``maxResults``, ``pageToken``: the row offset, ``startIndex``). Authentication: none is
required (the client's ``AnonymousCredentials``); a bearer token that is sent must be one the
sandbox's ``/token`` endpoint issued and still good, else 401 as Google answers.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sandbox.http import Request, Response
from sandbox.world import World

PROJECT = "northstar-sandbox"
DATASET = "analytics_424242424"
LOCATION = "US"
#: Rows a page holds when the client does not say (real BigQuery bounds pages by bytes).
DEFAULT_PAGE_ROWS = 10_000
MAX_PAGE_ROWS = 100_000
TABLE_FILE = re.compile(r"^(events_(?:intraday_)?\d{8})\.json\.gz$")
_PATH = re.compile(
    r"^/bigquery/v2/projects/(?P<project>[^/]+)/datasets"
    r"(?:/(?P<dataset>[^/]+)(?:/tables(?:/(?P<table>[^/]+)(?P<data>/data)?)?)?)?/?$"
)
_TABLES = re.compile(r"/tables(?:/|$)")


def client_env(base_url: str) -> dict[str, str]:
    """The GA4 settings that read this dataset through BigQuery instead of the files (they
    replace ``SOURCES__GA4__BUCKET_URL`` of ``sandbox.client_env.source_env``)."""
    return {
        "SOURCES__GA4__BUCKET_URL": f"bigquery://{PROJECT}/{DATASET}",
        "SOURCES__GA4__BIGQUERY_API_ENDPOINT": base_url,
        "SOURCES__GA4__BIGQUERY_CREDENTIALS": "anonymous",
    }


def _f(name: str, kind: str = "STRING", mode: str = "NULLABLE", fields: list | None = None
       ) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind, "mode": mode}
    if fields is not None:
        field["fields"] = fields
    return field


def _value(*extra: dict[str, Any]) -> dict[str, Any]:
    return _f("value", "RECORD", fields=[
        _f("string_value"), _f("int_value", "INTEGER"), _f("float_value", "FLOAT"),
        _f("double_value", "FLOAT"), *extra])


#: The GA4 export's table schema (field order as in a real ``events_YYYYMMDD`` table).
GA4_SCHEMA: list[dict[str, Any]] = [
    _f("event_date"),
    _f("event_timestamp", "INTEGER"),
    _f("event_name"),
    _f("event_params", "RECORD", "REPEATED", [_f("key"), _value()]),
    _f("event_previous_timestamp", "INTEGER"),
    _f("event_value_in_usd", "FLOAT"),
    _f("event_bundle_sequence_id", "INTEGER"),
    _f("event_server_timestamp_offset", "INTEGER"),
    _f("user_id"),
    _f("user_pseudo_id"),
    _f("privacy_info", "RECORD", fields=[
        _f("analytics_storage"), _f("ads_storage"), _f("uses_transient_token")]),
    _f("user_properties", "RECORD", "REPEATED", [
        _f("key"), _value(_f("set_timestamp_micros", "INTEGER"))]),
    _f("user_first_touch_timestamp", "INTEGER"),
    _f("user_ltv", "RECORD", fields=[_f("revenue", "FLOAT"), _f("currency")]),
    _f("device", "RECORD", fields=[
        _f("category"), _f("mobile_brand_name"), _f("mobile_model_name"),
        _f("mobile_marketing_name"), _f("mobile_os_hardware_model"), _f("operating_system"),
        _f("operating_system_version"), _f("vendor_id"), _f("advertising_id"), _f("language"),
        _f("is_limited_ad_tracking"), _f("time_zone_offset_seconds", "INTEGER"), _f("browser"),
        _f("browser_version"),
        _f("web_info", "RECORD", fields=[_f("browser"), _f("browser_version"), _f("hostname")])]),
    _f("geo", "RECORD", fields=[
        _f("continent"), _f("sub_continent"), _f("country"), _f("region"), _f("city"),
        _f("metro")]),
    _f("app_info", "RECORD", fields=[
        _f("id"), _f("version"), _f("install_store"), _f("firebase_app_id"),
        _f("install_source")]),
    _f("traffic_source", "RECORD", fields=[_f("name"), _f("medium"), _f("source")]),
    _f("stream_id"),
    _f("platform"),
    _f("event_dimensions", "RECORD", fields=[_f("hostname")]),
    _f("ecommerce", "RECORD", fields=[
        _f("total_item_quantity", "INTEGER"), _f("purchase_revenue_in_usd", "FLOAT"),
        _f("purchase_revenue", "FLOAT"), _f("refund_value_in_usd", "FLOAT"),
        _f("refund_value", "FLOAT"), _f("shipping_value_in_usd", "FLOAT"),
        _f("shipping_value", "FLOAT"), _f("tax_value_in_usd", "FLOAT"), _f("tax_value", "FLOAT"),
        _f("unique_items", "INTEGER"), _f("transaction_id")]),
    _f("items", "RECORD", "REPEATED", [
        _f("item_id"), _f("item_name"), _f("item_brand"), _f("item_variant"),
        _f("item_category"), _f("price_in_usd", "FLOAT"), _f("price", "FLOAT"),
        _f("quantity", "INTEGER"), _f("item_revenue_in_usd", "FLOAT"),
        _f("item_revenue", "FLOAT"), _f("coupon"), _f("affiliation"), _f("index", "INTEGER"),
        _f("item_params", "RECORD", "REPEATED", [_f("key"), _value()])]),
    _f("collected_traffic_source", "RECORD", fields=[
        _f("manual_campaign_id"), _f("manual_campaign_name"), _f("manual_source"),
        _f("manual_medium"), _f("manual_term"), _f("manual_content"),
        _f("manual_source_platform"), _f("manual_creative_format"),
        _f("manual_marketing_tactic"), _f("gclid"), _f("dclid"), _f("srsltid")]),
    _f("is_active_user", "BOOLEAN"),
    _f("batch_event_index", "INTEGER"),
    _f("batch_page_id", "INTEGER"),
    _f("batch_ordering_id", "INTEGER"),
]


# --- f/v encoding ---------------------------------------------------------------------------


def _scalar(value: Any, kind: str) -> Any:
    """BigQuery's JSON for a scalar: a string (what does not fit the type is sent as it is)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value) if not isinstance(value, float) else repr(value)
    return json.dumps(value)  # a list or object where a scalar belongs: sent as its text


def _cell(value: Any, field: dict[str, Any]) -> dict[str, Any]:
    if field["mode"] == "REPEATED":
        if value is None:
            return {"v": []}
        if not isinstance(value, list):
            return {"v": _scalar(value, "STRING")}
        return {"v": [_cell(item, {**field, "mode": "NULLABLE"}) for item in value]}
    if value is None:
        return {"v": None}
    if field["type"] == "RECORD":
        if not isinstance(value, dict):
            return {"v": _scalar(value, "STRING")}
        return {"v": encode_row(value, field["fields"])}
    return {"v": _scalar(value, field["type"])}


def encode_row(obj: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """One export row in BigQuery's ``{"f": [{"v": ...}]}`` form (keys not in the schema,
    which a real table cannot hold, are left out)."""
    return {"f": [_cell(obj.get(field["name"]), field) for field in fields]}


def encode_line(line: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):  # a malformed line: one cell, a row that does not fit
        return {"f": [{"v": line.decode("utf-8", "replace")}]}
    return encode_row(obj, GA4_SCHEMA)


# --- tables ---------------------------------------------------------------------------------


class _Lines:
    """The decompressed lines of the last few table files read (paging re-reads them)."""

    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self.cache: OrderedDict[tuple[Path, int], list[bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, path: Path) -> list[bytes]:
        key = (path, path.stat().st_mtime_ns)
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        lines = [line for line in gzip.decompress(path.read_bytes()).split(b"\n") if line.strip()]
        with self.lock:
            self.cache[key] = lines
            while len(self.cache) > self.keep:
                self.cache.popitem(last=False)
        return lines


_LINES = _Lines()


def table_files(world: World) -> dict[str, Path]:
    """Table name -> export file, sorted by name."""
    folder = world.ga4_dir
    if folder is None or not folder.is_dir():
        return {}
    found = {m[1]: p for p in folder.iterdir() if (m := TABLE_FILE.match(p.name)) and p.is_file()}
    return dict(sorted(found.items()))


def _error(status: int, message: str, reason: str) -> Response:
    statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    return Response.json({"error": {
        "code": status, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
        "status": statuses.get(status, "UNKNOWN")}}, status)


def _table_ref(project: str, table: str) -> dict[str, str]:
    return {"projectId": project, "datasetId": DATASET, "tableId": table}


def _table_resource(project: str, name: str, path: Path, full: bool) -> dict[str, Any]:
    created = str(int(path.stat().st_mtime * 1000))
    resource: dict[str, Any] = {
        "kind": "bigquery#table", "id": f"{project}:{DATASET}.{name}",
        "tableReference": _table_ref(project, name), "type": "TABLE", "creationTime": created,
    }
    if full:
        resource.update({
            "etag": f'"{created}"', "selfLink": f"/bigquery/v2/projects/{project}/datasets/"
                                                f"{DATASET}/tables/{name}",
            "schema": {"fields": GA4_SCHEMA}, "numRows": str(len(_LINES.get(path))),
            "numBytes": str(path.stat().st_size), "lastModifiedTime": created,
            "location": LOCATION,
        })
    return resource


def _page(request: Request, total: int) -> tuple[int, int]:
    """(first row, row count) of the page asked for: ``pageToken`` (an offset) or
    ``startIndex``, and ``maxResults``."""
    token = request.arg("pageToken") or request.arg("startIndex") or "0"
    first = int(token) if token.isdigit() else 0
    size = request.arg("maxResults") or ""
    rows = min(int(size), MAX_PAGE_ROWS) if size.isdigit() and int(size) > 0 else DEFAULT_PAGE_ROWS
    return min(first, total), rows


def _tables_list(request: Request, project: str, files: dict[str, Path]) -> Response:
    names = list(files)
    first, size = _page(request, len(names))
    body: dict[str, Any] = {
        "kind": "bigquery#tableList", "etag": f'"{len(names)}"', "totalItems": len(names),
        "tables": [_table_resource(project, n, files[n], False) for n in names[first:first + size]],
    }
    if first + size < len(names):
        body["nextPageToken"] = str(first + size)
    return Response.json(body)


def _tabledata_list(request: Request, path: Path) -> Response:
    lines = _LINES.get(path)
    first, size = _page(request, len(lines))
    body: dict[str, Any] = {
        "kind": "bigquery#tableDataList", "etag": f'"{len(lines)}"', "totalRows": str(len(lines)),
        "rows": [encode_line(line) for line in lines[first:first + size]],
    }
    if first + size < len(lines):
        body["pageToken"] = str(first + size)
    return Response.json(body)


def handle(world: World, request: Request) -> Response:
    """One BigQuery v2 REST request against the export dataset."""
    if request.headers.get("authorization") and request.token_state != "valid":
        return _error(401, "Request had invalid authentication credentials. Expected OAuth 2 "
                           "access token, login cookie or other valid authentication credential.",
                      "authError")
    if request.method != "GET":
        return _error(405, f"Method {request.method} is not served by the sandbox", "invalid")
    match = _PATH.match(request.path)
    if match is None:
        return _error(404, f"Not found: URL {request.path}", "notFound")
    project, dataset, table = match["project"], match["dataset"], match["table"]
    if project != PROJECT:
        return _error(404, f"Not found: Project {project}", "notFound")
    if dataset is None:
        return Response.json({"kind": "bigquery#datasetList", "etag": '"1"', "datasets": [{
            "kind": "bigquery#dataset", "id": f"{project}:{DATASET}", "location": LOCATION,
            "datasetReference": {"projectId": project, "datasetId": DATASET}}]})
    if dataset != DATASET:
        return _error(404, f"Not found: Dataset {project}:{dataset}", "notFound")
    if not _TABLES.search(request.path):
        return Response.json({
            "kind": "bigquery#dataset", "id": f"{project}:{DATASET}", "location": LOCATION,
            "datasetReference": {"projectId": project, "datasetId": DATASET}})
    files = table_files(world)
    if table is None:
        return _tables_list(request, project, files)
    if table not in files:
        return _error(404, f"Not found: Table {project}:{DATASET}.{table}", "notFound")
    if match["data"]:
        return _tabledata_list(request, files[table])
    return Response.json(_table_resource(project, table, files[table], True))
