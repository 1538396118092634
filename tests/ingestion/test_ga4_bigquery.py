"""The GA4 source reading the BigQuery export (the real google-cloud-bigquery client against the
sandbox's BigQuery endpoint) gives the same raw rows as the file path."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.run import ingest
from ingestion.sources.ga4 import ga4_source
from ingestion.warehouse import LOADER_FILE_FORMAT, make_pipeline
from sandbox import bigquery_api, oauth
from sandbox.server import start_server
from sandbox.simulation import simulate
from tests.ingestion.conftest import point_sources_at, query

START, AS_OF = date(2025, 1, 1), date(2025, 1, 22)


@pytest.fixture(scope="module")
def short_sim(tmp_path_factory):
    """Three weeks with a few malformed lines (served by BigQuery as rows that do not fit)."""
    return simulate(5, START, AS_OF, "small", tmp_path_factory.mktemp("bq_ga4"), malformed_rate=0.01)


@pytest.fixture
def server(short_sim):
    server = start_server(short_sim.world, port=0)
    yield server
    server.shutdown()


def load(monkeypatch, warehouse: Path, env: dict[str, str]) -> None:
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(warehouse))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    info = make_pipeline("ga4").run(ga4_source(), loader_file_format=LOADER_FILE_FORMAT)
    assert not info.has_failed_jobs


def differences(left: Path, right: Path, table: str) -> tuple[int, int, list, list]:
    """Rows of ``raw_ga4.<table>`` in one warehouse and not the other (every column, JSON as
    its text, duplicates counted), and the two column lists."""
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        columns = [con.execute(
            "select column_name, data_type from information_schema.columns where table_catalog "
            f"= '{db}' and table_schema = 'raw_ga4' and table_name = '{table}' "
            "and column_name not like '_dlt%' order by column_name").fetchall() for db in "lr"]
        cast = ", ".join(f"{name}::varchar" for name, _ in columns[0])
        counts = [con.execute(f"select count(*) from (select {cast} from {a}.raw_ga4.{table} "
                              f"except all select {cast} from {b}.raw_ga4.{table})").fetchall()[0][0]
                  for a, b in (("l", "r"), ("r", "l"))]
    return counts[0], counts[1], columns[0], columns[1]


def test_bigquery_rows_equal_file_rows(monkeypatch, server, short_sim, tmp_path):
    point_sources_at(monkeypatch, server)
    files, bigquery = tmp_path / "files" / "wh.duckdb", tmp_path / "bq" / "wh.duckdb"
    load(monkeypatch, files, {})
    load(monkeypatch, bigquery, bigquery_api.client_env(server.base_url))
    only_files, only_bq, file_columns, bq_columns = differences(files, bigquery, "events")
    assert (only_files, only_bq) == (0, 0)
    assert file_columns == bq_columns
    assert dict(file_columns)["event_timestamp"] == "BIGINT"
    assert dict(file_columns)["event_params"] == "JSON"
    assert query(bigquery, "select count(*) from raw_ga4.events")[0][0] == short_sim.ga4.events
    # a malformed row: quarantined with its table and row number (the file's line number)
    bad = query(bigquery, "select file_name, line_number, reason from raw_ga4.events_quarantine "
                          "order by all")
    assert len(bad) == short_sim.ga4.malformed_lines > 0
    file_bad = query(files, "select file_name, line_number from raw_ga4.events_quarantine "
                            "order by all")
    assert [(f"{bigquery_api.DATASET}.{n.removesuffix('.json.gz')}", i) for n, i in file_bad] \
        == [(n, i) for n, i, _ in bad]
    assert bad[0][2] == ("does not fit the GA4 export schema: row has 1 cell(s), "
                         "the schema 28 field(s)")


def test_rerun_replaces_the_last_days(monkeypatch, server, short_sim, tmp_path):
    point_sources_at(monkeypatch, server)
    env = bigquery_api.client_env(server.base_url)
    warehouse = tmp_path / "wh.duckdb"
    load(monkeypatch, warehouse, env)
    by_day = query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1 order by 1")
    load(monkeypatch, warehouse, env)
    assert query(warehouse, "select event_date, count(*) from raw_ga4.events group by 1 "
                            "order by 1") == by_day
    assert dict(by_day) == short_sim.ga4.events_by_day


def test_intraday_table_read_today_then_replaced_by_the_daily(monkeypatch, short_sim, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(short_sim.world.ga4_dir, folder)
    last = max(short_sim.ga4.events_by_day)
    daily = folder / f"events_{last}.json.gz"
    intraday = folder / f"events_intraday_{last}.json.gz"
    daily.rename(intraday)  # today: only the streaming table exists
    world = type(short_sim.world)(**{**short_sim.world.__dict__, "ga4_dir": folder})
    server = start_server(world, port=0)
    try:
        point_sources_at(monkeypatch, server)
        env = bigquery_api.client_env(server.base_url)
        warehouse = tmp_path / "wh.duckdb"
        load(monkeypatch, warehouse, env)
        count_today = f"select count(*) from raw_ga4.events where event_date = '{last}'"
        assert query(warehouse, count_today)[0][0] == short_sim.ga4.events_by_day[last]
        shutil.copy(intraday, daily)  # the daily table lands; GA4 keeps the intraday a while
        load(monkeypatch, warehouse, env)
        assert query(warehouse, count_today)[0][0] == short_sim.ga4.events_by_day[last]
        assert query(warehouse, "select count(*) from raw_ga4.events")[0][0] == short_sim.ga4.events
    finally:
        server.shutdown()


def test_refused_credential_fails_ga4_alone_in_one_line(monkeypatch, server, tmp_path):
    point_sources_at(monkeypatch, server)
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", str(tmp_path / "wh.duckdb"))
    for key, value in bigquery_api.client_env(server.base_url).items():
        monkeypatch.setenv(key, value)
    wrong_refresh = "1//wrong-refresh-token-abc123"
    credentials = tmp_path / "adc.json"
    credentials.write_text(json.dumps({
        "type": "authorized_user", "client_id": oauth.GOOGLE_CLIENT_ID,
        "client_secret": oauth.GOOGLE_CLIENT_SECRET, "refresh_token": wrong_refresh,
        "token_uri": f"{server.base_url}{oauth.GOOGLE_TOKEN_PATH}"}))
    monkeypatch.setenv("SOURCES__GA4__BIGQUERY_CREDENTIALS", str(credentials))
    ga4, ecb = ingest(["ga4", "ecb_fx"])
    assert ecb.status == "loaded"
    assert ga4.status == "failed"
    line = ga4.line()
    assert "\n" not in line
    assert line == ("ga4: failed: HTTP 401 from northstar-sandbox.analytics_424242424: the token "
                    "endpoint refused the credentials (adc.json): invalid_grant")
    assert wrong_refresh not in line and oauth.GOOGLE_CLIENT_SECRET not in line


def test_valid_credentials_file_reads_with_a_token(monkeypatch, server, short_sim, tmp_path):
    """A good authorized-user file: the client gets a token from the sandbox's /token and
    BigQuery accepts it."""
    point_sources_at(monkeypatch, server)
    credentials = tmp_path / "adc.json"
    credentials.write_text(json.dumps({
        "type": "authorized_user", "client_id": oauth.GOOGLE_CLIENT_ID,
        "client_secret": oauth.GOOGLE_CLIENT_SECRET, "refresh_token": oauth.GOOGLE_REFRESH_TOKEN,
        "token_uri": f"{server.base_url}{oauth.GOOGLE_TOKEN_PATH}"}))
    env = {**bigquery_api.client_env(server.base_url),
           "SOURCES__GA4__BIGQUERY_CREDENTIALS": str(credentials)}
    warehouse = tmp_path / "wh.duckdb"
    load(monkeypatch, warehouse, env)
    assert query(warehouse, "select count(*) from raw_ga4.events")[0][0] == short_sim.ga4.events
    assert server.tokens.grants["google_ads"] >= 1
