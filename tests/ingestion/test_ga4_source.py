"""The GA4 source against the sandbox's export files: over HTTP, from a folder, with faults."""

from __future__ import annotations

import gzip
import json
import shutil
import urllib.request
from datetime import timedelta

import pytest

from ingestion.sources.ga4 import ga4_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline, pipelines_dir
from sandbox.server import start_server
from sandbox.simulation import simulate
from tests.ingestion.conftest import AS_OF, START, point_sources_at, query

LOOKBACK = 3


def run_ga4() -> None:
    info = make_pipeline("ga4").run(ga4_source(), loader_file_format=LOADER_FILE_FORMAT)
    assert not info.has_failed_jobs


def ga4_requests(server) -> int:
    with urllib.request.urlopen(f"{server.base_url}/_sandbox/requests") as response:
        return json.load(response).get("ga4", 0)


def event_count(warehouse) -> int:
    return query(warehouse, "select count(*) from raw_ga4.events")[0][0]


def rows_fingerprint(warehouse) -> list[tuple]:
    return query(warehouse, """
        select event_date, count(*), sum(event_timestamp), count(distinct user_pseudo_id),
               sum(json_array_length(event_params)), count(collected_traffic_source)
        from raw_ga4.events group by 1 order by 1""")


def session_ids_from_files(folder) -> set[int]:
    ids = set()
    for path in sorted(folder.glob("events_*.json.gz")):
        for line in gzip.decompress(path.read_bytes()).splitlines():
            event = json.loads(line)
            for param in event["event_params"]:
                if param["key"] == "ga_session_id":
                    ids.add((event["user_pseudo_id"], param["value"]["int_value"]))
    return ids


def test_http_load_counts_types_and_no_duplicates(sandbox_env, warehouse, expected_counts, ingest_sim):
    before = ga4_requests(sandbox_env)
    run_ga4()
    assert event_count(warehouse) == expected_counts["ga4"]["events"]
    # one index page + one GET per file
    assert ga4_requests(sandbox_env) - before == expected_counts["ga4"]["files"] + 1
    days = query(warehouse, "select count(distinct event_date), min(event_date), max(event_date) "
                            "from raw_ga4.events")[0]
    assert days == (expected_counts["ga4"]["files"], START.strftime("%Y%m%d"),
                    (AS_OF - timedelta(days=1)).strftime("%Y%m%d"))
    types = dict(query(warehouse, "select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'raw_ga4' and table_name = 'events'"))
    assert types["event_timestamp"] == "BIGINT" and types["event_date"] == "VARCHAR"
    assert types["event_params"] == types["device"] == types["geo"] == "JSON"
    by_day = dict(query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1"))
    assert by_day == ingest_sim.ga4.events_by_day

    fingerprint = rows_fingerprint(warehouse)
    before = ga4_requests(sandbox_env)
    run_ga4()  # nothing new: the last days are re-read and replaced, never duplicated
    assert ga4_requests(sandbox_env) - before == 1 + LOOKBACK  # index + the last 3 days
    assert rows_fingerprint(warehouse) == fingerprint


def test_nested_params_queryable(sandbox_env, warehouse, ingest_sim):
    run_ga4()
    sessions = query(warehouse, """
        select count(distinct (user_pseudo_id, (p ->> '$.value.int_value')::bigint))
        from raw_ga4.events, unnest(event_params::json[]) as u(p)
        where p ->> '$.key' = 'ga_session_id'""")[0][0]
    assert sessions == len(session_ids_from_files(ingest_sim.world.ga4_dir))
    countries = query(warehouse, "select count(*) from raw_ga4.events where geo ->> '$.country' is null")
    assert countries == [(0,)]
    typed = query(warehouse, """
        select count(*) from (
            select unnest(json_transform(event_params,
                '[{"key": "VARCHAR", "value": {"int_value": "BIGINT"}}]'), recursive := true)
            from raw_ga4.events) where key = 'ga_session_number' and int_value >= 1""")[0][0]
    assert typed == event_count(warehouse)  # every event carries its session number


def test_local_folder_gives_same_rows(monkeypatch, sandbox, warehouse, ingest_sim, tmp_path):
    point_sources_at(monkeypatch, sandbox)
    run_ga4()
    over_http = rows_fingerprint(warehouse)
    local = tmp_path / "local" / "northstar.duckdb"
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(local))
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", str(ingest_sim.world.ga4_dir))
    run_ga4()
    assert rows_fingerprint(local) == over_http


def test_advancing_as_of_reads_only_lookback_and_new_files(monkeypatch, warehouse, tmp_path):
    world_dir, next_dir = tmp_path / "ga4_now", tmp_path / "ga4_next"
    sim = simulate(11, START, AS_OF, "small", world_dir)
    server = start_server(sim.world, port=0)
    try:
        point_sources_at(monkeypatch, server)
        run_ga4()
        assert event_count(warehouse) == sim.ga4.events
    finally:
        server.shutdown()
    later = simulate(11, START, AS_OF + timedelta(days=1), "small", next_dir)
    assert later.ga4.events > sim.ga4.events
    server = start_server(later.world, port=0)
    try:
        point_sources_at(monkeypatch, server)
        run_ga4()
        assert ga4_requests(server) == 1 + LOOKBACK + 1  # index + 3 re-read days + the new day
    finally:
        server.shutdown()
    # the sandbox only appends, and late events land within the look-back: after one run the
    # warehouse holds exactly the new world, day by day, each event once
    by_day = dict(query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1"))
    assert by_day == later.ga4.events_by_day
    assert event_count(warehouse) == later.ga4.events


def test_malformed_lines_are_quarantined(monkeypatch, warehouse, tmp_path):
    clean = simulate(11, START, AS_OF, "small", tmp_path / "clean")
    dirty = simulate(11, START, AS_OF, "small", tmp_path / "dirty", malformed_rate=0.01)
    assert dirty.ga4.malformed_lines > 0
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", str(tmp_path / "dirty"))
    monkeypatch.setenv("SOURCES__GA4__START_DATE", START.isoformat())
    run_ga4()
    assert event_count(warehouse) == clean.ga4.events == dirty.ga4.events
    rows = query(warehouse, "select file_name, line_number, reason, line, event_date "
                            "from raw_ga4.events_quarantine order by file_name, line_number")
    assert len(rows) == dirty.ga4.malformed_lines
    file_name, line_number, reason, line, day = rows[0]
    lines = gzip.decompress((tmp_path / "dirty" / file_name).read_bytes()).decode().split("\n")
    assert lines[line_number - 1] == line  # 1-based line numbers of the decompressed file
    assert file_name == f"events_{day}.json.gz" and "invalid JSON" in reason
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    # a re-run replaces the re-read days' quarantine rows too
    run_ga4()
    assert len(query(warehouse, "select 1 from raw_ga4.events_quarantine")) == len(rows)
    assert event_count(warehouse) == clean.ga4.events


def test_truncated_file_loads_its_whole_lines_and_quarantines_the_break(monkeypatch, warehouse,
                                                                        tmp_path):
    world = simulate(11, START, AS_OF, "small", tmp_path / "export")
    files = sorted((tmp_path / "export").glob("events_*.json.gz"))
    cut = files[len(files) // 2]
    whole = gzip.decompress(cut.read_bytes()).decode().split("\n")
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])  # an interrupted copy
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", str(tmp_path / "export"))
    monkeypatch.setenv("SOURCES__GA4__START_DATE", START.isoformat())
    run_ga4()
    [(file_name, line_number, reason, day)] = query(
        warehouse, "select file_name, line_number, reason, event_date from raw_ga4.events_quarantine")
    assert file_name == cut.name and day == cut.name[7:15]
    assert reason == (f"unreadable file: the gzip stream ends early (truncated file); lines from "
                      f"{line_number} on are missing")
    kept = line_number - 1  # every whole line before the break loads
    assert 0 < kept < len(whole) - 1
    by_day = dict(query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1"))
    assert by_day == {**world.ga4.events_by_day, day: kept}
    first = json.loads(whole[0])
    assert query(warehouse, "select count(*) from raw_ga4.events where event_date = ? and "
                            "event_timestamp = ? and user_pseudo_id = ?",
                 [day, int(first["event_timestamp"]), first["user_pseudo_id"]])[0][0] >= 1


def test_faults_end_with_fault_free_rows(monkeypatch, faulty_sandbox, warehouse, expected_counts,
                                         ingest_sim):
    point_sources_at(monkeypatch, faulty_sandbox)
    run_ga4()
    assert faulty_sandbox.faults.injected > 0
    assert event_count(warehouse) == expected_counts["ga4"]["events"]
    by_day = dict(query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1"))
    assert by_day == ingest_sim.ga4.events_by_day


def test_state_restored_from_warehouse(sandbox_env, warehouse, expected_counts):
    run_ga4()
    fingerprint = rows_fingerprint(warehouse)
    shutil.rmtree(pipelines_dir())
    before = ga4_requests(sandbox_env)
    run_ga4()
    # the cursor came back from the warehouse: only the look-back days were read
    assert ga4_requests(sandbox_env) - before == 1 + LOOKBACK
    assert rows_fingerprint(warehouse) == fingerprint
    assert event_count(warehouse) == expected_counts["ga4"]["events"]


def test_schema_drift_new_field_and_changed_type(monkeypatch, warehouse, ingest_sim, tmp_path):
    folder = tmp_path / "drift"
    folder.mkdir()
    names = sorted(p.name for p in ingest_sim.world.ga4_dir.glob("events_*.json.gz"))[:2]
    shutil.copy(ingest_sim.world.ga4_dir / names[0], folder / names[0])
    events = [json.loads(line) for line in
              gzip.decompress((ingest_sim.world.ga4_dir / names[1]).read_bytes()).splitlines()]
    for event in events:
        event["is_active_user"] = True  # a known optional export field: typed
        event["consent"] = {"ads": "granted"}  # a field nobody knows: kept as JSON text
    events[5]["event_timestamp"] = "not-a-number"  # a changed type: that line is quarantined
    (folder / names[1]).write_bytes(gzip.compress(
        "\n".join(json.dumps(e, separators=(",", ":")) for e in events).encode() + b"\n"))
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", str(folder))
    run_ga4()
    first = ingest_sim.ga4.events_by_day[names[0][7:15]]
    assert event_count(warehouse) == first + len(events) - 1
    types = dict(query(warehouse, "select column_name, data_type from information_schema.columns "
                                  "where table_schema = 'raw_ga4' and table_name = 'events'"))
    assert types["event_timestamp"] == "BIGINT" and types["is_active_user"] == "BOOLEAN"
    assert types["consent"] == types["event_params"] == "JSON"
    assert query(warehouse, "select count(*), count(distinct consent ->> '$.ads') "
                            "from raw_ga4.events where consent is not null") == [(len(events) - 1, 1)]
    bad = query(warehouse, "select file_name, line_number, reason from raw_ga4.events_quarantine")
    assert len(bad) == 1 and bad[0][:2] == (names[1], 6) and "schema" in bad[0][2]
