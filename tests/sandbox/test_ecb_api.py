"""The sandbox's ECB reference rates: the Data Portal's csvdata over HTTP, and the monthly
rates the truth converts with, taken from the same served numbers."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests

from sandbox import ecb_api
from sandbox.currency import reporting_rate
from sandbox.server import start_server
from sandbox.simulation import catalog


@pytest.fixture(scope="module")
def server(small_sim):
    served = start_server(small_sim.world, port=0)  # as-of 2026-01-01
    yield served
    served.shutdown()


def _get(server, key: str, **params) -> requests.Response:
    return requests.get(f"{server.base_url}/service/data/EXR/{key}", params={"format": "csvdata", **params},
                        timeout=30)


def test_serves_the_data_portal_csv_on_publication_days_only(server):
    response = _get(server, "D.USD+CHF.EUR.SP00.A", startPeriod="2025-12-20")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.sdmx.data+csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0]) == ecb_api.COLUMNS
    # 20-21 and 27-28 December are weekends, 25 and 26 TARGET holidays; as-of is 1 January
    days = ["2025-12-22", "2025-12-23", "2025-12-24", "2025-12-29", "2025-12-30", "2025-12-31"]
    assert [(r["KEY"], r["TIME_PERIOD"]) for r in rows] == (
        [("EXR.D.CHF.EUR.SP00.A", d) for d in days] + [("EXR.D.USD.EUR.SP00.A", d) for d in days])
    assert all(r["OBS_VALUE"] == str(ecb_api.reference_rate(r["CURRENCY"], date.fromisoformat(r["TIME_PERIOD"])))
               for r in rows)
    assert {(r["FREQ"], r["CURRENCY_DENOM"], r["EXR_TYPE"], r["EXR_SUFFIX"], r["OBS_STATUS"]) for r in rows} == {
        ("D", "EUR", "SP00", "A", "A")}


def test_wildcard_dataonly_and_the_apis_errors(server):
    every = _get(server, "D..EUR.SP00.A", startPeriod="2025-12-31", detail="dataonly")
    rows = list(csv.DictReader(io.StringIO(every.text)))
    assert tuple(rows[0]) == ecb_api.DATA_ONLY_COLUMNS
    assert sorted(r["CURRENCY"] for r in rows) == sorted(ecb_api.SERIES)
    assert _get(server, "D.USD.EUR.SP00.A", startPeriod="2026-01-01").status_code == 404  # nothing yet
    assert _get(server, "D.USD.EUR.SP00.A", startPeriod="2025-12", endPeriod="2025-12").text.count("\n") == 1 + 21
    assert _get(server, "M.USD.EUR.SP00.A").status_code == 404  # the sandbox serves daily series
    assert _get(server, "D.USD.EUR.SP00").status_code == 400
    assert _get(server, "D.USD.EUR.SP00.A", startPeriod="31/12/2025").status_code == 400
    assert requests.get(f"{server.base_url}/service/data/EXR/D.USD.EUR.SP00.A", timeout=30).status_code == 406


def test_every_currency_the_simulation_uses_has_a_series():
    used = {c.upper() for c in catalog.PRICED_CURRENCIES} | {c for *_, c in catalog.AD_ACCOUNTS}
    assert used - {"EUR"} <= set(ecb_api.SERIES)


def test_rates_are_fixed_exact_decimals_on_any_machine():
    # integer arithmetic only: these are the served values on every platform
    assert ecb_api.reference_rate("USD", date(2025, 3, 3)) == Decimal("1.1010")
    assert ecb_api.reference_rate("JPY", date(2025, 3, 3)) == Decimal("151.59")
    assert ecb_api.reference_rate("GBP", date(2025, 3, 3)) == Decimal("0.87342")
    assert ecb_api.reference_rate("CHF", date(2017, 3, 3)) == Decimal("1.0156")


def test_monthly_rate_is_the_months_last_publication_crossed_through_the_euro():
    as_of = date(2026, 1, 1)
    march = date(2024, 3, 1)  # ends on Easter weekend: Good Friday the 29th publishes nothing
    assert ecb_api.last_publication_day(march, as_of) == date(2024, 3, 28)
    usd, chf = (ecb_api.reference_rate(c, date(2024, 3, 28)) for c in ("USD", "CHF"))
    assert reporting_rate("chf", march, as_of) == (usd / chf).quantize(Decimal("1e-10"), ROUND_HALF_UP)
    assert reporting_rate("eur", march, as_of) == usd
    assert reporting_rate("usd", march, as_of) == 1  # the reporting currency: exactly 1
    assert reporting_rate("chf", march, as_of, reporting="CHF") == 1
    # the current month before its first publication (1 January is a holiday): the latest so far
    assert reporting_rate("gbp", date(2026, 1, 1), date(2026, 1, 2)) == reporting_rate("gbp", date(2025, 12, 1), as_of)
