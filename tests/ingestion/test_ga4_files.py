"""GA4 export files as users write them with EXPORT DATA: several shards a day, in JSON or
Parquet, on a local folder, the sandbox's HTTP index or an S3 bucket (moto's server) give the
same ``raw_ga4.events`` as one file a day."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date
from pathlib import Path

import boto3
import duckdb
import pytest
from moto import settings as moto_settings
from moto.server import ThreadedMotoServer

from ingestion.run import ingest
from ingestion.sources.ga4 import ga4_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline
from sandbox.server import start_server
from sandbox.simulation import simulate
from sandbox.simulation.ga4_events import SHARDS_PER_DAY, shard_name
from tests.ingestion.conftest import point_sources_at, query
from tests.ingestion.test_ga4_bigquery import differences

START, AS_OF = date(2025, 1, 1), date(2025, 1, 15)
SEED = 5


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    """One world's export in each layout (the same events)."""
    root = tmp_path_factory.mktemp("ga4_layouts")
    sims = {layout: simulate(SEED, START, AS_OF, "small", root / layout, ga4_layout=layout)
            for layout in ("daily", "json-shards", "parquet-shards")}
    events = {layout: sim.ga4.events for layout, sim in sims.items()}
    assert len(set(events.values())) == 1, events
    days = (AS_OF - START).days
    assert sims["daily"].ga4.files == days
    assert sims["parquet-shards"].ga4.files == sims["json-shards"].ga4.files == \
        days * SHARDS_PER_DAY
    return {layout: root / layout for layout in sims} | {"events": events["daily"],
                                                        "by_day": sims["daily"].ga4.events_by_day}


def load(monkeypatch, warehouse: Path, bucket_url: str, **env: str) -> None:
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", bucket_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    info = make_pipeline("ga4").run(ga4_source(), loader_file_format=LOADER_FILE_FORMAT)
    assert not info.has_failed_jobs


def by_day(warehouse: Path) -> dict[str, int]:
    return dict(query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1"))


@pytest.fixture(scope="module")
def daily_warehouse(layouts, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("daily_wh") / "wh.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        load(patch, path, str(layouts["daily"]))
    return path


def assert_same_events(reference: Path, other: Path, events: int) -> None:
    only_reference, only_other, columns, other_columns = differences(reference, other, "events")
    assert (only_reference, only_other) == (0, 0)
    assert columns == other_columns
    assert dict(columns)["event_params"] == "JSON"
    assert query(other, "select count(*) from raw_ga4.events")[0][0] == events
    assert query(other, "select count(*) from information_schema.tables where table_schema "
                        "= 'raw_ga4' and table_name = 'events_quarantine'") == [(0,)]


def test_json_shards_over_http_equal_one_file_a_day(monkeypatch, layouts, daily_warehouse,
                                                    tmp_path):
    sim_world = simulate(SEED, START, AS_OF, "small", tmp_path / "served",
                         ga4_layout="json-shards").world
    server = start_server(sim_world, port=0)
    try:
        warehouse = tmp_path / "wh.duckdb"
        load(monkeypatch, warehouse, f"{server.base_url}/ga4/")
    finally:
        server.shutdown()
    assert_same_events(daily_warehouse, warehouse, layouts["events"])


def test_parquet_shards_equal_one_file_a_day(monkeypatch, layouts, daily_warehouse, tmp_path):
    warehouse = tmp_path / "wh.duckdb"
    load(monkeypatch, warehouse, str(layouts["parquet-shards"]))
    assert_same_events(daily_warehouse, warehouse, layouts["events"])
    # the Parquet shards hold every column of the BigQuery table; only those with values load
    with duckdb.connect() as con:
        parquet_columns = con.execute(
            f"describe select * from '{layouts['parquet-shards']}/*.parquet'").fetchall()
    assert {"items", "privacy_info", "is_active_user"} <= {c[0] for c in parquet_columns}


@pytest.fixture
def moto_s3(monkeypatch):
    """A local S3-compatible server (moto's server mode) on a free port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "northstar-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "northstar-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield f"http://{host}:{port}"
    server.stop()


def test_s3_bucket_of_parquet_and_json_shards(monkeypatch, moto_s3, layouts, daily_warehouse,
                                              tmp_path):
    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket="acme-ga4")
    days = sorted(layouts["by_day"])
    half = len(days) // 2
    # the first days exported as Parquet, the later ones as JSON: both read, by name
    for path in sorted(layouts["parquet-shards"].iterdir()):
        if path.name[7:15] in days[:half]:
            s3.upload_file(str(path), "acme-ga4", f"export/{path.name}")
    for path in sorted(layouts["json-shards"].iterdir()):
        if path.name[7:15] in days[half:]:
            s3.upload_file(str(path), "acme-ga4", f"export/{path.name}")
    s3.put_object(Bucket="acme-ga4", Key="export/README.txt", Body=b"not an export file")
    warehouse = tmp_path / "wh.duckdb"
    load(monkeypatch, warehouse, "s3://acme-ga4/export/",
         SOURCES__GA4__STORAGE_OPTIONS=json.dumps({"endpoint_url": moto_s3}))
    assert_same_events(daily_warehouse, warehouse, layouts["events"])


def test_refused_s3_credential_fails_ga4_alone_in_one_line(monkeypatch, moto_s3, layouts, sandbox, tmp_path,
                                                           capfd):
    """An S3 store that refuses the key: GA4 fails in one line naming the bucket, without the
    secret or a stack trace; the other sources still load."""
    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket="acme-ga4")
    for path in sorted(layouts["json-shards"].iterdir())[:2]:
        s3.upload_file(str(path), "acme-ga4", f"export/{path.name}")
    # the store now checks every request's key (moto's IAM authentication): ours is unknown
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    wrong_secret = "wr0ng-s3cret-Key-0123456789abcdefXYZ"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEY00000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    point_sources_at(monkeypatch, sandbox)  # ecb_fx: a source that still loads
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    monkeypatch.setenv("SOURCES__GA4__BUCKET_URL", "s3://acme-ga4/export/")
    monkeypatch.delenv("SOURCES__GA4__START_DATE")
    monkeypatch.setenv("SOURCES__GA4__STORAGE_OPTIONS", json.dumps({"endpoint_url": moto_s3}))
    ga4, ecb = ingest(["ga4", "ecb_fx"])
    assert ecb.status == "loaded"
    assert ga4.status == "failed"
    line = ga4.line()
    assert "\n" not in line
    assert line.startswith("ga4: failed: ") and "s3://acme-ga4/export/" in line, line
    assert "refused" in line, line
    assert wrong_secret not in line
    output = capfd.readouterr()
    assert wrong_secret not in output.out + output.err
    assert "Traceback" not in output.out + output.err


@pytest.mark.parametrize(("layout", "ext"), [("json-shards", "json.gz"), ("parquet-shards", "parquet")])
def test_a_day_gaining_a_shard_is_replaced_not_duplicated(monkeypatch, layouts, tmp_path, layout, ext):
    folder = tmp_path / "export"
    shutil.copytree(layouts[layout], folder)
    last = max(layouts["by_day"])
    late = folder / shard_name(last, SHARDS_PER_DAY - 1, ext)
    if ext == "parquet":
        with duckdb.connect() as con:
            late_rows = con.execute(f"select count(*) from '{late}'").fetchall()[0][0]
    else:
        late_rows = len(gzip.decompress(late.read_bytes()).splitlines())
    assert late_rows > 0
    held_back = late.rename(tmp_path / late.name)
    warehouse = tmp_path / "wh.duckdb"
    load(monkeypatch, warehouse, str(folder))
    assert by_day(warehouse) == {**layouts["by_day"], last: layouts["by_day"][last] - late_rows}
    held_back.rename(late)  # the export of the last day gains its third shard
    load(monkeypatch, warehouse, str(folder))
    assert by_day(warehouse) == layouts["by_day"]
    if ext != "json.gz":
        return
    # a day both as joined file and as shards is read once, from the joined file
    joined = folder / f"events_{last}.json.gz"
    joined.write_bytes(b"".join((folder / shard_name(last, i, "json.gz")).read_bytes()
                                for i in range(SHARDS_PER_DAY)))
    load(monkeypatch, warehouse, str(folder))
    assert by_day(warehouse) == layouts["by_day"]


def test_malformed_rows_in_shards_are_quarantined_with_file_and_row(monkeypatch, layouts,
                                                                   tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(layouts["json-shards"], folder)
    days = sorted(layouts["by_day"])
    # a JSON shard with a truncated line after its second line (it becomes line 3)
    json_shard = folder / shard_name(days[0], 1, "json.gz")
    lines = gzip.decompress(json_shard.read_bytes()).splitlines()
    lines.insert(2, lines[2][: len(lines[2]) // 2])
    json_shard.write_bytes(gzip.compress(b"\n".join(lines) + b"\n", mtime=0))
    # the next day as Parquet shards, the fifth row of one with a timestamp that is no number
    for shard in range(SHARDS_PER_DAY):
        (folder / shard_name(days[1], shard, "json.gz")).unlink()
        shutil.copy(layouts["parquet-shards"] / shard_name(days[1], shard, "parquet"), folder)
    bad_shard = folder / shard_name(days[1], 2, "parquet")
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * exclude (file_row_number) replace (case when file_row_number = 4 "
            f"then 'soon' else event_timestamp::varchar end as event_timestamp) "
            f"from read_parquet('{layouts['parquet-shards'] / bad_shard.name}', "
            f"file_row_number = true) order by file_row_number) to '{bad_shard}' (format parquet)")
    # and a Parquet shard that is not Parquet at all
    broken = folder / shard_name(days[2], SHARDS_PER_DAY, "parquet")
    broken.write_bytes(b"PAR1 this is not a parquet footer")
    warehouse = tmp_path / "wh.duckdb"
    load(monkeypatch, warehouse, str(folder))
    bad = query(warehouse, "select event_date, file_name, line_number, reason "
                           "from raw_ga4.events_quarantine order by all")
    assert [row[:3] for row in bad] == [
        (days[0], json_shard.name, 3),
        (days[1], bad_shard.name, 5),
        (days[2], broken.name, 0),
    ]
    assert bad[0][3].startswith("invalid JSON")
    assert bad[1][3] == ("does not fit the GA4 export schema: event_timestamp is not a number "
                         '(text "soon")')
    assert bad[2][3].startswith("unreadable file: ") and broken.name in bad[2][3]
    # every good row loaded: all events but the quarantined Parquet row
    assert query(warehouse, "select count(*) from raw_ga4.events")[0][0] == \
        layouts["events"] - 1
