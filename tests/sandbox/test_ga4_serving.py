"""Serving the GA4 export folder: fsspec's HTTP filesystem must list, glob and read it."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import fsspec
import pytest
import requests

from sandbox import ga4_export
from sandbox.http import Request
from sandbox.server import SandboxServer, start_server
from sandbox.world import World

DAYS = ("20250101", "20250102", "20250103")


def write_ga4_export(folder: Path, rows_per_day: int = 1500) -> dict[str, list[dict]]:
    """A few days of NDJSON GA4 rows, gzipped as the simulator writes them, plus decoys."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for n, day in enumerate(DAYS):
        rows = [
            {
                "event_date": day,
                "event_timestamp": 1_735_689_600_000_000 + n * 86_400_000_000 + i,
                "event_name": "page_view" if i % 4 else "session_start",
                "user_pseudo_id": f"{i % 97}.{n}",
                "traffic_source": {"source": "google", "medium": "cpc", "name": f"camp-{i % 3}"},
            }
            for i in range(rows_per_day)
        ]
        (folder / f"events_{day}.json.gz").write_bytes(
            gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0)
        )
        written[f"events_{day}.json.gz"] = rows
    (folder / "notes.txt").write_text("not an export file")
    (folder / "events_2025.json.gz").write_bytes(b"bad name")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "events_20250104.json.gz").write_bytes(b"nested")
    return written


@pytest.fixture(scope="module")
def ga4_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ga4")
    write_ga4_export(folder)
    return folder


@pytest.fixture(scope="module")
def server(ga4_dir: Path) -> Iterator[SandboxServer]:
    world = World(
        seed=1, start=date(2025, 1, 1), as_of=date(2025, 1, 4), scale="test", ga4_dir=ga4_dir
    )
    server = start_server(world, port=0)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fs() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("http", skip_instance_cache=True, use_listings_cache=False)


def test_ls_and_glob_list_only_export_files(
    server: SandboxServer, fs: fsspec.AbstractFileSystem
) -> None:
    base = f"{server.base_url}/ga4/"
    expected = [f"{base}events_{day}.json.gz" for day in DAYS]
    assert fs.ls(base, detail=False) == expected
    assert fs.ls(base.rstrip("/"), detail=False) == expected
    assert sorted(fs.glob(f"{base}events_2025010[23].json.gz")) == expected[1:]
    assert sorted(fs.glob(f"{base}events_*.json.gz")) == expected


def test_read_gzipped_file_fully(
    server: SandboxServer, ga4_dir: Path, fs: fsspec.AbstractFileSystem
) -> None:
    url = f"{server.base_url}/ga4/events_20250102.json.gz"
    expected = [
        json.loads(line)
        for line in gzip.decompress((ga4_dir / "events_20250102.json.gz").read_bytes()).splitlines()
    ]
    with fs.open(url, "rt", compression="gzip") as handle:
        assert [json.loads(line) for line in handle] == expected
    # Tiny blocks force many Range requests; the content must not change.
    before = server.request_counts["ga4"]
    with fs.open(url, "rb", block_size=1024) as raw, gzip.open(raw, "rt") as handle:
        assert [json.loads(line) for line in handle] == expected
    assert server.request_counts["ga4"] - before >= 3  # HEAD, then several ranged GETs
    assert fs.size(url) == (ga4_dir / "events_20250102.json.gz").stat().st_size


def test_cat_byte_range(
    server: SandboxServer, ga4_dir: Path, fs: fsspec.AbstractFileSystem
) -> None:
    data = (ga4_dir / "events_20250101.json.gz").read_bytes()
    url = f"{server.base_url}/ga4/events_20250101.json.gz"
    assert fs.cat_file(url, start=100, end=612) == data[100:612]
    assert fs.cat(url) == data


def test_range_and_head_over_plain_http(server: SandboxServer, ga4_dir: Path) -> None:
    data = (ga4_dir / "events_20250103.json.gz").read_bytes()
    url = f"{server.base_url}/ga4/events_20250103.json.gz"
    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    tail = requests.get(url, headers={"Range": "bytes=-7"}, timeout=10)
    assert tail.status_code == 206 and tail.content == data[-7:]
    open_ended = requests.get(url, headers={"Range": f"bytes={len(data) - 3}-"}, timeout=10)
    assert open_ended.content == data[-3:]
    beyond = requests.get(url, headers={"Range": f"bytes={len(data)}-"}, timeout=10)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(data)}"
    several = requests.get(url, headers={"Range": "bytes=0-1,5-6"}, timeout=10)
    assert several.status_code == 200 and several.content == data
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(data))
    assert (
        head.headers["Content-Type"] == "application/gzip"
        and head.headers["Accept-Ranges"] == "bytes"
    )
    index = requests.get(f"{server.base_url}/ga4", timeout=10)
    assert index.headers["Content-Type"].startswith("text/html")
    assert index.text.count("<a href=") == len(DAYS)


@pytest.mark.parametrize(
    "path",
    [
        "/ga4/notes.txt",
        "/ga4/events_2025.json.gz",
        "/ga4/events_20250109.json.gz",
        "/ga4/sub/events_20250104.json.gz",
        "/ga4/../ga4/events_20250101.json.gz",
        "/ga4/..%2Fevents_20250101.json.gz",
        "/ga4/%2e%2e/world.py",
    ],
)
def test_only_export_files_are_served(server: SandboxServer, path: str) -> None:
    world = World(
        seed=1,
        start=date(2025, 1, 1),
        as_of=date(2025, 1, 4),
        scale="test",
        ga4_dir=server.world.ga4_dir,
    )
    assert ga4_export.handle(world, Request("GET", path)).status == 404
    if "/../" not in path:  # clients resolve literal dot segments before sending
        assert requests.get(f"{server.base_url}{path}", timeout=10).status_code == 404


def test_no_folder_means_empty_index_and_404() -> None:
    world = World(seed=1, start=date(2025, 1, 1), as_of=date(2025, 1, 4), scale="test")
    index = ga4_export.handle(world, Request("GET", "/ga4/"))
    assert index.status == 200 and b"<a href" not in index.body
    assert ga4_export.handle(world, Request("GET", "/ga4/events_20250101.json.gz")).status == 404
    assert ga4_export.handle(world, Request("POST", "/ga4/")).status == 405
