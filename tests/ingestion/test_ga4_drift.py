"""GA4 schema drift is never silent: new fields wherever they appear, misshapen values
quarantined with their line, empty files reported, one summary line per run.

Each test writes a few export files into a temporary folder (a local folder is a bucket_url),
from events of the session's small simulated world.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from ingestion.run import ingest
from ingestion.sources.ga4 import ga4_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline
from tests.ingestion.conftest import query

DAYS = [f"202501{d:02d}" for d in range(1, 10)]


@pytest.fixture(scope="module")
def pool(ingest_sim) -> list[dict]:
    """A few thousand real export events to write files from."""
    events: list[dict] = []
    for path in sorted(ingest_sim.world.ga4_dir.glob("events_*.json.gz")):
        events += [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
        if len(events) > 3_200:
            return events
    raise AssertionError(f"the simulated world has only {len(events)} GA4 events")


@pytest.fixture
def bucket(tmp_path, monkeypatch, warehouse) -> Path:
    folder = tmp_path / "bucket"
    folder.mkdir()
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", str(folder))
    monkeypatch.delenv("SOURCES__GA4__START_DATE", raising=False)
    return folder


def write_day(folder: Path, day: str, events: list[dict]) -> list[str]:
    """``events_<day>.json.gz`` holding ``events`` (dated ``day``); returns its lines."""
    lines = [json.dumps({**e, "event_date": day}, separators=(",", ":")) for e in events]
    (folder / f"events_{day}.json.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return lines


def run_ga4() -> None:
    info = make_pipeline("ga4").run(ga4_source(), loader_file_format=LOADER_FILE_FORMAT)
    assert not info.has_failed_jobs


def column_types(warehouse) -> dict[str, str]:
    return dict(query(warehouse, "select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'raw_ga4' and table_name = 'events'"))


def events(warehouse) -> int:
    return query(warehouse, "select count(*) from raw_ga4.events")[0][0]


def quarantine(warehouse) -> list[tuple]:
    return query(warehouse, "select file_name, line_number, reason, line "
                            "from raw_ga4.events_quarantine order by file_name, line_number")


def test_field_on_the_last_line_of_a_big_file_becomes_a_column(bucket, warehouse, pool):
    day = [dict(e) for e in pool[:2_500]]
    day[-1]["consent"] = {"ads": "granted"}  # nowhere else
    write_day(bucket, DAYS[0], day)
    run_ga4()
    assert events(warehouse) == 2_500
    assert column_types(warehouse)["consent"] == "JSON"
    assert query(warehouse, "select event_timestamp, consent ->> '$.ads' from raw_ga4.events "
                            "where consent is not null") == [(day[-1]["event_timestamp"], "granted")]


def test_field_first_in_the_seventh_file_of_a_batch_becomes_a_column(bucket, warehouse, pool):
    for i, day in enumerate(DAYS[:8]):  # one batch: 8 files of 400 lines, 2,400 before the 7th
        chunk = [dict(e) for e in pool[i * 400:(i + 1) * 400]]
        if i == 6:
            chunk[0]["is_active_user"] = True  # a known export field: typed
            chunk[-1]["privacy_info"] = {"analytics_storage": "Yes"}
        write_day(bucket, day, chunk)
    run_ga4()
    assert events(warehouse) == 8 * 400
    types = column_types(warehouse)
    assert types["is_active_user"] == "BOOLEAN" and types["privacy_info"] == "JSON"
    assert query(warehouse, "select event_date, count(*) from raw_ga4.events "
                            "where is_active_user group by 1") == [(DAYS[6], 1)]
    assert query(warehouse, "select event_date, privacy_info ->> '$.analytics_storage' "
                            "from raw_ga4.events where privacy_info is not null") == [(DAYS[6], "Yes")]


def test_misshapen_records_are_quarantined_and_the_rest_loads(bucket, warehouse, pool):
    first = write_day(bucket, DAYS[0], pool[:300])
    day = [dict(e) for e in pool[300:800]]
    day[2]["event_params"] = "ga_session_id=1735690470"  # line 3: a string, not a list
    day[9]["items"] = {"item_id": "sku-1"}  # line 10: a repeated record given as an object
    day[20]["device"] = "desktop"  # line 21: a record given as a string
    lines = write_day(bucket, DAYS[1], day)
    run_ga4()
    assert events(warehouse) == len(first) + len(lines) - 3
    name = f"events_{DAYS[1]}.json.gz"
    bad = quarantine(warehouse)
    assert [(f, n) for f, n, _, _ in bad] == [(name, 3), (name, 10), (name, 21)]
    assert [line for _, n, _, line in bad] == [lines[2], lines[9], lines[20]]
    reasons = [reason for _, _, reason, _ in bad]
    assert "event_params is not a list (text \"ga_session_id=1735690470\")" in reasons[0]
    assert "items is not a list (an object" in reasons[1]
    assert "device is not an object (text \"desktop\")" in reasons[2]
    # every loaded event has its params as a list: none reads NULL from a string
    assert query(warehouse, "select count(*) from raw_ga4.events "
                            "where json_type(event_params) <> 'ARRAY'") == [(0,)]


def test_timestamp_that_is_not_a_number_is_quarantined(bucket, warehouse, pool):
    day = [dict(e) for e in pool[:400]]
    day[4]["event_timestamp"] = "abc"
    day[7]["user_first_touch_timestamp"] = {"micros": 1}
    day[8]["event_timestamp"] = str(day[8]["event_timestamp"])  # BigQuery writes INT64 as text
    lines = write_day(bucket, DAYS[0], day)
    run_ga4()
    assert events(warehouse) == len(lines) - 2
    bad = quarantine(warehouse)
    assert [n for _, n, _, _ in bad] == [5, 8]
    assert 'event_timestamp is not a number (text "abc")' in bad[0][2]
    assert "user_first_touch_timestamp is not a number (an object" in bad[1][2]
    assert query(warehouse, "select count(*) from raw_ga4.events where event_timestamp = "
                            f"{pool[8]['event_timestamp']}") == [(1,)]


def test_empty_files_are_reported(bucket, warehouse, pool, caplog):
    write_day(bucket, DAYS[0], pool[:300])
    (bucket / f"events_{DAYS[1]}.json.gz").write_bytes(b"")  # zero bytes
    (bucket / f"events_{DAYS[2]}.json.gz").write_bytes(gzip.compress(b"\n  \n"))  # blank
    write_day(bucket, DAYS[3], pool[300:400])
    with caplog.at_level(logging.WARNING):
        run_ga4()
    assert events(warehouse) == 400
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for day in DAYS[1:3]:
        assert f"ga4: events_{day}.json.gz is empty (no events in it): nothing loaded from it" in warned
    assert warned[-1].endswith(f"2 empty files (events_{DAYS[1]}.json.gz, events_{DAYS[2]}.json.gz)")


def test_plain_text_named_gz_still_loads_and_its_new_fields_count(bucket, warehouse, pool):
    write_day(bucket, DAYS[0], pool[:300])
    day = [dict(e) for e in pool[300:500]]
    day[-1]["consent"] = {"ads": "denied"}
    lines = [json.dumps(e, separators=(",", ":")) for e in day]
    (bucket / f"events_{DAYS[1]}.json.gz").write_text("\n".join(lines) + "\n")  # not gzipped
    run_ga4()
    assert events(warehouse) == 500
    assert query(warehouse, "select consent ->> '$.ads' from raw_ga4.events "
                            "where consent is not null") == [("denied",)]


def test_summary_line_reaches_the_ingest_output(bucket, warehouse, pool, caplog):
    day1 = [dict(e) for e in pool[:600]]
    day1[-1]["consent"] = {"ads": "granted"}
    day1[-2]["ga4_new_flag"] = 1  # a field nobody knows
    write_day(bucket, DAYS[0], day1)
    day2 = [dict(e) for e in pool[600:900]]
    day2[2]["event_params"] = "oops"
    write_day(bucket, DAYS[1], day2)
    (bucket / f"events_{DAYS[2]}.json.gz").write_bytes(b"")
    [result] = ingest(["ga4"])
    assert result.status == "loaded"
    summary = (f"ga4: 899 events from 3 files; 2 new columns (consent, ga4_new_flag); "
               f"1 line quarantined; 1 empty file (events_{DAYS[2]}.json.gz)")
    assert result.notes == [summary]
    assert result.line().split("\n") == [result.line().split("\n")[0], f"  {summary}"]
    assert result.line().startswith("ga4: loaded 900 rows into 2 tables in ")

    # the same days again (the look-back): the columns are no longer new, the rest still is
    [again] = ingest(["ga4"])
    assert again.notes == [(f"ga4: 899 events from 3 files; 0 new columns; 1 line quarantined; "
                            f"1 empty file (events_{DAYS[2]}.json.gz)")]


def test_clean_run_summary_is_info_and_leaves_no_note(bucket, warehouse, pool, caplog):
    write_day(bucket, DAYS[0], pool[:300])
    write_day(bucket, DAYS[1], pool[300:500])
    with caplog.at_level(logging.INFO, logger="ingestion"):
        [result] = ingest(["ga4"])
    assert result.notes == []
    assert "\n" not in result.line()
    summaries = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "ingestion.notes.ga4"]
    assert summaries == [(logging.INFO, ("ga4: 500 events from 2 files; 0 new columns; "
                                         "0 lines quarantined; 0 empty files"))]
