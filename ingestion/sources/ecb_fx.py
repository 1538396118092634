"""European Central Bank euro foreign exchange reference rates, daily, into ``raw_ecb_fx``.

The ECB Data Portal's public, keyless SDMX REST API answers
``GET /service/data/EXR/D..EUR.SP00.A?format=csvdata&startPeriod=YYYY-MM-DD`` with one CSV
line per observation: every currency's daily reference rate against the euro (units of the
currency per euro, published around 16:00 CET on TARGET business days). ``detail=dataonly``
drops the series attributes the warehouse does not use.

Table ``daily_rates``: ``date``, ``currency`` (ISO 4217, upper case), ``rate`` (units per
euro, the exact decimal text the ECB sends: never a float), ``obs_status`` and ``series_key``.
Merged on (date, currency).

Incremental on ``date``: a run asks from the last loaded day minus ``lookback_days`` (the
ECB corrects a published rate now and then), a first run from ``start_date``. A query with no
observations is the API's 404 ("No results found"): an empty load, not an error. A line whose
value is empty or ``NaN`` carries no rate and is skipped; one that is not a number is logged
(series and day) and skipped, and every other line still loads.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client import RESTClient

from ingestion.common.errors import SourceBadAnswer, error_hook, retries_exhausted
from ingestion.common.http_client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    Timeouts,
    http_session,
)

logger = logging.getLogger(__name__)

SOURCE = "ecb_fx"
DEFAULT_API_BASE = "https://data-api.ecb.europa.eu"
#: Every daily reference rate against the euro (FREQ.CURRENCY.CURRENCY_DENOM.EXR_TYPE.EXR_SUFFIX).
DEFAULT_SERIES_KEY = "D..EUR.SP00.A"
#: The euro's first day of reference rates: a first load reads the whole history.
DEFAULT_START_DATE = "1999-01-04"
#: The CSV columns every observation line has: an answer without them is not the ECB's CSV.
REQUIRED_COLUMNS = frozenset({"TIME_PERIOD", "CURRENCY", "OBS_VALUE"})
#: Rows handed to dlt at a time.
BATCH_SIZE = 5000

COLUMNS: dict[str, Any] = {
    "date": {"data_type": "date", "nullable": False},
    "currency": {"data_type": "text", "nullable": False},
    "rate": {"data_type": "text"},
    "obs_status": {"data_type": "text"},
    "series_key": {"data_type": "text"},
}

#: Currencies with an ECB euro reference rate (today's 30 and the discontinued ones), for
#: telling a currency code from a typo before the rates are loaded.
ECB_REFERENCE_CURRENCIES = frozenset({
    "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CYP", "CZK", "DKK", "EEK", "GBP", "HKD", "HRK", "HUF", "IDR",
    "ILS", "INR", "ISK", "JPY", "KRW", "LTL", "LVL", "MTL", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "ROL",
    "RON", "RUB", "SEK", "SGD", "SIT", "SKK", "THB", "TRL", "TRY", "USD", "ZAR",
})


@dlt.source(name="ecb_fx")
def ecb_fx_source(
    api_base: str = DEFAULT_API_BASE,
    start_date: str = DEFAULT_START_DATE,
    lookback_days: int = 7,
    series_key: str = DEFAULT_SERIES_KEY,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """Daily euro reference rates of the series ``series_key`` from ``start_date`` on."""
    if int(lookback_days) < 0:
        raise ValueError(f"lookback_days must be >= 0, got {lookback_days}")
    first = date.fromisoformat(str(start_date)).isoformat()
    client = RESTClient(base_url=api_base.rstrip("/"),
                        session=http_session(Timeouts(connect_timeout, read_timeout)))
    hooks = {"response": [_no_results_is_empty(error_hook(SOURCE, _detail, []))]}
    on_date = dlt.sources.incremental("date", initial_value=first, lag=int(lookback_days) or None)

    @dlt.resource(write_disposition="merge", primary_key=("date", "currency"), columns=COLUMNS)
    def daily_rates(cursor: dlt.sources.incremental[str] = on_date) -> Iterator[list[dict[str, Any]]]:
        params = {"format": "csvdata", "startPeriod": str(cursor.start_value), "detail": "dataonly"}
        with retries_exhausted(SOURCE):
            response = client.get(f"/service/data/EXR/{series_key}", params=params, hooks=hooks, stream=True)
        if response.status_code == 404:
            response.close()
            return
        response.encoding = response.encoding or "utf-8"
        batch: list[dict[str, Any]] = []
        reader = csv.DictReader(response.iter_lines(decode_unicode=True))
        _check_header(reader.fieldnames, response)
        for row in reader:
            parsed = _row(row)
            if parsed is not None:
                batch.append(parsed)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
        if batch:
            yield batch

    return daily_rates


def _check_header(fieldnames: Any, response: Response) -> None:
    """A 200 without the CSV's columns (a maintenance page, a JSON error) is not "no rates":
    it fails the source in one line naming the endpoint."""
    missing = sorted(REQUIRED_COLUMNS - set(fieldnames or ()))
    if missing:
        response.close()
        raise SourceBadAnswer(SOURCE, response.status_code, urlsplit(response.url).path,
                              f"no {', '.join(missing)} columns")


def _row(line: dict[str, str]) -> dict[str, Any] | None:
    """One observation, or None when it carries no usable rate."""
    value = (line.get("OBS_VALUE") or "").strip()
    where = f"{line.get('KEY') or line.get('CURRENCY')} on {line.get('TIME_PERIOD')}"
    if value in ("", "NaN"):
        return None
    try:
        rate = Decimal(value)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or rate <= 0:
        logger.warning("%s: skipped %s: OBS_VALUE %r is not a rate", SOURCE, where, value[:40])
        return None
    return {
        "date": line["TIME_PERIOD"],
        "currency": line["CURRENCY"].upper(),
        "rate": value,
        "obs_status": line.get("OBS_STATUS") or None,
        "series_key": line.get("KEY") or None,
    }


def _no_results_is_empty(hook: Any) -> Any:
    """The Data Portal answers 404 when a query matches no observation (nothing new since the
    cursor): the resource reads that as an empty answer; every other error goes to ``hook``."""

    def checked(response: Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code != 404:
            hook(response, *args, **kwargs)

    return checked


def _detail(response: Response) -> str:
    """The Data Portal's error text (plain text or an HTML page): its first line."""
    return (response.text or "").strip().splitlines()[0][:200] if response.text else response.reason or ""
