"""The ecb_fx source against the sandbox's ECB Data Portal: a first load, then an incremental
run that re-reads only the lookback window."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import requests

from ingestion.run import ingest
from ingestion.sources.ecb_fx import _row
from sandbox import ecb_api
from tests.ingestion.conftest import AS_OF, query


def test_first_run_loads_every_served_rate_then_rereads_only_the_lookback(sandbox_env, warehouse, expected_counts):
    served = expected_counts["ecb_fx"]["daily_rates"]
    [first] = ingest(["ecb_fx"])
    assert first.status == "loaded" and first.rows == {"daily_rates": served}, first.line()
    rows = query(warehouse, "select date, currency, rate from raw_ecb_fx.daily_rates")
    assert len(rows) == served
    assert all(rate == str(ecb_api.reference_rate(c, d)) for d, c, rate in rows)  # exact decimal text
    assert query(warehouse, "select data_type from information_schema.columns "
                            "where table_schema = 'raw_ecb_fx' and column_name = 'rate'") == [("VARCHAR",)]

    before = requests.get(f"{sandbox_env.base_url}/_sandbox/requests", timeout=10).json().get("ecb_fx", 0)
    [second] = ingest(["ecb_fx"])
    last = max(d for d, _, _ in rows)
    lookback = list(ecb_api.publication_days(last - timedelta(days=7), last))
    assert second.status == "loaded" and second.rows == {"daily_rates": len(lookback) * len(ecb_api.SERIES)}
    assert requests.get(f"{sandbox_env.base_url}/_sandbox/requests", timeout=10).json()["ecb_fx"] == before + 1
    assert query(warehouse, "select count(*), count(distinct (date, currency)) from raw_ecb_fx.daily_rates") == [
        (served, served)]


def test_a_start_with_nothing_published_yet_is_an_empty_load(sandbox_env, warehouse, monkeypatch):
    # the Data Portal answers 404 "No results found." to a query that matches nothing
    monkeypatch.setenv("SOURCES__ECB_FX__START_DATE", AS_OF.isoformat())
    [result] = ingest(["ecb_fx"])
    assert result.status == "loaded" and sum(result.rows.values()) == 0, result.line()


def test_lines_without_a_rate_are_skipped_and_the_rest_kept(caplog):
    line = {"KEY": "EXR.D.USD.EUR.SP00.A", "CURRENCY": "USD", "TIME_PERIOD": "2025-03-03"}
    assert _row({**line, "OBS_VALUE": "1.0412"}) == {"date": "2025-03-03", "currency": "USD", "rate": "1.0412",
                                                     "obs_status": None, "series_key": "EXR.D.USD.EUR.SP00.A"}
    assert _row({**line, "OBS_VALUE": ""}) is None and _row({**line, "OBS_VALUE": "NaN"}) is None
    assert _row({**line, "OBS_VALUE": "n/a"}) is None
    assert "EXR.D.USD.EUR.SP00.A on 2025-03-03" in caplog.text and "'n/a'" in caplog.text
    assert Decimal(_row({**line, "OBS_VALUE": "160.03"})["rate"]) == Decimal("160.03")
    assert date.fromisoformat(_row({**line, "OBS_VALUE": "1"})["date"]) == date(2025, 3, 3)
