"""Serving the GA4 export folder over HTTP, like a static bucket behind a plain web server.

The simulator writes the export into ``world.ga4_dir`` in one of its layouts
(``sandbox.simulation.ga4_events.LAYOUTS``): one ``events_YYYYMMDD.json.gz`` (NDJSON of GA4
BigQuery-export rows) a day, or EXPORT DATA's shards ``events_YYYYMMDD-000000000000.json.gz`` /
``.parquet``; this module only serves that folder:
- ``GET /ga4/``  an HTML index whose ``<a href>`` links fsspec's HTTPFileSystem lists and globs
- ``GET|HEAD /ga4/<file>``  the bytes, with single ``Range`` support (206) so fsspec can read
  files in blocks (Parquet readers fetch the footer first).
Only names matching ``events_<8 digits>[-<12 digits>].json.gz`` or ``.parquet`` directly in the
folder are ever served. (The BigQuery endpoint, ``sandbox.bigquery_api``, reads the daily
layout.)
"""

from __future__ import annotations

import html
import re
from email.utils import formatdate
from pathlib import Path

from sandbox.http import Request, Response
from sandbox.world import World

FILE_NAME = re.compile(r"^events_\d{8}(?:-\d{12})?\.(?:json\.gz|parquet)$")
_CONTENT_TYPES = {"gz": "application/gzip", "parquet": "application/vnd.apache.parquet"}
_RANGE = re.compile(r"^bytes=(?P<first>\d*)-(?P<last>\d*)$")


def _not_found(path: str) -> Response:
    return Response(
        404, f"Not found: {path}\n".encode(), {"Content-Type": "text/plain; charset=utf-8"}
    )


def list_files(folder: Path | None) -> list[str]:
    """Names of the export files in ``folder``, sorted (so by day)."""
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if FILE_NAME.match(p.name) and p.is_file())


def _index(names: list[str]) -> Response:
    links = "\n".join(f'<li><a href="{html.escape(n)}">{html.escape(n)}</a></li>' for n in names)
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><base href="/ga4/">'
        "<title>Index of /ga4/</title></head>\n"
        f"<body><h1>Index of /ga4/</h1>\n<ul>\n{links}\n</ul>\n</body></html>\n"
    )
    return Response(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single ``bytes=a-b`` range; None when unsatisfiable.

    Raises ValueError for headers to ignore (several ranges, other units), which then get the
    whole file, as RFC 9110 allows.
    """
    match = _RANGE.match(header.strip())
    if match is None or not (match["first"] or match["last"]):
        raise ValueError(header)
    if not match["first"]:  # suffix range: the last n bytes
        suffix = int(match["last"])
        return (max(size - suffix, 0), size - 1) if suffix and size else None
    first = int(match["first"])
    last = min(int(match["last"]), size - 1) if match["last"] else size - 1
    return (first, last) if first <= last and first < size else None


def handle(world: World, request: Request) -> Response:
    """Serve the index of ``world.ga4_dir`` or one export file from it."""
    if request.method not in ("GET", "HEAD"):
        return Response(
            405, b"Method not allowed\n", {"Allow": "GET, HEAD", "Content-Type": "text/plain"}
        )
    if request.path in ("/ga4", "/ga4/"):
        return _index(list_files(world.ga4_dir))
    name = request.path.removeprefix("/ga4/")
    # One stat of the named file, not a listing of the folder: a name FILE_NAME matches has no
    # separator, so it names a file directly in the folder. (Listing the folder for each file's
    # request stat'ed all ~730 files ~730 times in a default-scale load: 24 s of the sandbox's
    # CPU in a full nightly, though little of its wall time, as stat releases the GIL.)
    path = world.ga4_dir / name if world.ga4_dir is not None and FILE_NAME.match(name) else None
    if path is None or not path.is_file():
        return _not_found(request.path)
    data = path.read_bytes()
    headers = {
        "Content-Type": _CONTENT_TYPES[name.rsplit(".", 1)[-1]],
        "Accept-Ranges": "bytes",
        "Last-Modified": formatdate(path.stat().st_mtime, usegmt=True),
    }
    # Content-Length is set by the server from the body; HEAD gets the full body to count,
    # the server drops it on the wire.
    range_header = request.headers.get("range")
    if not range_header:
        return Response(200, data, headers)
    try:
        span = _byte_range(range_header, len(data))
    except ValueError:
        return Response(200, data, headers)
    if span is None:
        return Response(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"})
    first, last = span
    return Response(
        206,
        data[first : last + 1],
        {**headers, "Content-Range": f"bytes {first}-{last}/{len(data)}"},
    )
