"""Reference values the suites check against: known currency codes and GA4 event names.

A known currency code is one the warehouse can handle: listed in the dbt seed
``currency_exponents`` (the currencies whose minor unit is not 2 digits), the euro, or a
currency with ECB reference rates (``raw_ecb_fx.daily_rates``, what the marts convert with).
The raw-table checks run right after ingestion, before ``dbt seed``: the committed seed file is
read then, and before the ECB rates were ever loaded, the list of currencies the ECB publishes.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.sources.ecb_fx import ECB_REFERENCE_CURRENCIES
from orchestration.quality.frames import table_columns
from orchestration.quality.suite import ReferenceData, utc_now

SEED_SCHEMA = "seeds"
SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
CURRENCY_SEEDS = ("currency_exponents",)  # each has a ``currency`` column
#: The loaded ECB reference rates: one row per day x currency.
ECB_RATES = ("raw_ecb_fx", "daily_rates")

#: Events the product sends (the sandbox's ga4_events.EVENT_NAMES, read by the staging and
#: mart models): sign_up and login are GA4 recommended events, the others custom.
PRODUCT_EVENT_NAMES = frozenset({"sign_up", "login", "activated", "feature_used"})

#: Events GA4 collects on a web stream by itself: automatically collected ones and those of
#: enhanced measurement (on by default). A real export carries them whatever the product does.
GA4_AUTOMATIC_EVENT_NAMES = frozenset({
    "first_visit", "session_start", "user_engagement", "page_view",
    "scroll", "click", "view_search_results", "file_download", "form_start", "form_submit",
    "video_start", "video_progress", "video_complete",
})

GA4_EVENT_NAMES = PRODUCT_EVENT_NAMES | GA4_AUTOMATIC_EVENT_NAMES


def _seed_codes_from_warehouse(con: duckdb.DuckDBPyConnection, seed: str) -> set[str] | None:
    if "currency" not in table_columns(con, SEED_SCHEMA, seed):
        return None
    rows = con.execute(f'select distinct currency from "{SEED_SCHEMA}"."{seed}" where currency is not null').fetchall()
    return {str(code).upper() for (code,) in rows}


def _seed_codes_from_csv(seed: str) -> set[str]:
    with (SEEDS_DIR / f"{seed}.csv").open(newline="") as handle:
        return {row["currency"].upper() for row in csv.DictReader(handle) if row["currency"]}


def _ecb_codes(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Currencies with loaded ECB rates, else (never loaded) every one the ECB publishes."""
    if "currency" not in table_columns(con, *ECB_RATES):
        return set(ECB_REFERENCE_CURRENCIES)
    rows = con.execute('select distinct currency from "{}"."{}" where currency is not null'.format(*ECB_RATES))
    return {str(code).upper() for (code,) in rows.fetchall()}


def known_currency_codes(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Upper-case codes: every currency seed (from the warehouse if built, else its CSV), the
    euro and the currencies with ECB rates."""
    codes: set[str] = {"EUR"} | _ecb_codes(con)
    for seed in CURRENCY_SEEDS:
        from_warehouse = _seed_codes_from_warehouse(con, seed)
        codes |= from_warehouse if from_warehouse is not None else _seed_codes_from_csv(seed)
    return frozenset(codes)


def reference_data(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> ReferenceData:
    return ReferenceData(now=utc_now(now), currency_codes=known_currency_codes(con),
                         ga4_event_names=GA4_EVENT_NAMES)
