"""The great-expectations suites: correct data passes, each broken rule fails its suite only.

The marts' keys, accepted values and ranges are dbt's tests (test_dbt_rules.py); the mart
suites here hold what relates two columns of a row.

Failure lines are asserted whole: they are what a Dagster check and a nightly alert show.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from orchestration.quality import SUITES, Suite, SuiteResult, validate
from orchestration.quality.frames import read_frames
from orchestration.quality.reference import known_currency_codes
from orchestration.quality.suite import ReferenceData
from sandbox.simulation.ga4_events import EVENT_NAMES
from tests.quality.conftest import BEFORE_US, NOW, NOW_S, NOW_US, TABLES, create_tables

SUITE = {suite.name: suite for suite in SUITES}


def _rows(table: str) -> int:
    return len(TABLES[table][1])


def _validate_all(con: duckdb.DuckDBPyConnection) -> dict[str, SuiteResult]:
    return {suite.name: validate(con, suite, now=NOW) for suite in SUITES}


# --- the suites themselves ------------------------------------------------------------------

def test_suites_are_named_uniquely_and_keyed_like_their_dagster_assets() -> None:
    assert len(SUITE) == len(SUITES) == 20
    raw = {s.name: s.asset_key for s in SUITES if s.table.startswith("raw_")}
    assert raw["raw_stripe_invoices"] == ("stripe", "invoices")
    assert raw["raw_stripe_invoices__lines__data"] == ("stripe", "invoices")  # the parent resource's asset
    assert raw["raw_stripe_subscriptions__items__data"] == ("stripe", "subscriptions")
    assert raw["raw_ga4_events"] == ("ga4", "events")
    assert raw["raw_linkedin_ads_campaign_stats_daily"] == ("linkedin_ads", "campaign_stats_daily")
    assert {key[0] for key in raw.values()} == {"stripe", "ga4", "google_ads", "meta_ads", "linkedin_ads"}
    assert SUITE["mrr_summary"].asset_key == ("mrr_summary",)
    assert SUITE["mrr_summary"].table == "metrics.mrr_summary"


REFERENCE = ReferenceData(now=NOW, currency_codes=frozenset({"USD"}), ga4_event_names=frozenset({"page_view"}))


def test_a_suite_reads_exactly_the_columns_its_rules_name() -> None:
    assert SUITE["raw_stripe_invoices"].columns(REFERENCE) == (
        "id", "created", "currency", "amount_due", "amount_paid", "amount_remaining", "total")
    assert SUITE["raw_stripe_customers"].columns(REFERENCE) == ("id", "created")  # no currency: often unset
    assert SUITE["feature_adoption"].columns(REFERENCE) == (
        "active_users", "discovered_users", "tried_users", "adopted_users", "habitual_users")


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_every_column_a_suite_reads_is_in_the_good_warehouse(suite: Suite) -> None:
    columns, _ = TABLES[suite.table]
    assert set(suite.columns(REFERENCE)) <= {c.split()[0] for c in columns.split(",")}


def test_mart_suites_hold_no_rule_dbt_owns() -> None:
    """Keys, accepted values and ranges of the marts are dbt's tests: only pair rules here."""
    marts = [suite for suite in SUITES if suite.table.split(".")[0] in ("core", "metrics")]
    assert marts
    for suite in marts:
        types = {e.expectation_type for e in suite.expectations(REFERENCE)}
        assert types == {"expect_column_pair_values_a_to_be_greater_than_b"}, suite.name


def test_known_event_names_cover_the_product_and_ga4s_automatic_events() -> None:
    from orchestration.quality.reference import GA4_EVENT_NAMES

    assert set(EVENT_NAMES) <= GA4_EVENT_NAMES
    assert {"page_view", "session_start", "first_visit", "user_engagement", "scroll", "click"} <= GA4_EVENT_NAMES


# --- correct data ---------------------------------------------------------------------------

def test_every_suite_passes_on_correct_data_with_its_row_count(warehouse: duckdb.DuckDBPyConnection) -> None:
    results = _validate_all(warehouse)
    for suite in SUITES:
        result = results[suite.name]
        assert (result.passed, result.rows, result.failures, result.note) == (True, _rows(suite.table), [], None), \
            result.line()
    assert results["raw_stripe_invoices"].line() == "raw_stripe_invoices on raw_stripe.invoices: passed, 3 rows"


# --- broken rows ----------------------------------------------------------------------------

BROKEN = [
    pytest.param("update raw_stripe.invoices set amount_paid = -5 where id = 'in_2'", "raw_stripe_invoices",
                 ["expect_column_values_to_be_between on amount_paid: 1 of 3 rows unexpected, e.g. [-5]"],
                 id="negative-invoice-amount"),
    pytest.param("update raw_stripe.charges set currency = 'xxx' where id = 'ch_2'", "raw_stripe_charges",
                 ["expect_column_values_to_be_in_set on currency: 1 of 2 rows unexpected, e.g. ['xxx']"],
                 id="unknown-currency"),
    pytest.param(f"update raw_stripe.subscriptions set created = {NOW_S + 1} where id = 'sub_2'",
                 "raw_stripe_subscriptions",
                 [f"expect_column_values_to_be_between on created: 1 of 2 rows unexpected, e.g. [{NOW_S + 1}]"],
                 id="stripe-created-in-the-future"),
    pytest.param(f"update raw_ga4.events set event_timestamp = {NOW_US + 1} where event_name = 'click'",
                 "raw_ga4_events",
                 [(f"expect_column_values_to_be_between on event_timestamp: 1 of 4 rows unexpected, "
                   f"e.g. [{NOW_US + 1}]")],
                 id="ga4-event-in-the-future"),
    pytest.param("update raw_meta_ads.campaign_stats_daily set date = date '2026-11-02' where spend_micros = 0",
                 "raw_meta_ads_campaign_stats_daily",
                 ["expect_column_values_to_be_between on date: 1 of 2 rows unexpected, e.g. [2026-11-02]"],
                 id="ad-stats-day-in-the-future"),
    pytest.param("update raw_ga4.events set user_pseudo_id = null where event_name = 'sign_up'", "raw_ga4_events",
                 ["expect_column_values_to_not_be_null on user_pseudo_id: 1 of 4 rows unexpected, e.g. [None]"],
                 id="ga4-null-user-pseudo-id"),
    pytest.param("update raw_ga4.events set event_name = 'purchase_maybe' where event_name = 'click'",
                 "raw_ga4_events",
                 ["expect_column_values_to_be_in_set on event_name: 1 of 4 rows unexpected, e.g. ['purchase_maybe']"],
                 id="ga4-unknown-event-name"),
    pytest.param("update raw_meta_ads.campaign_stats_daily set spend_micros = -1 where spend_micros = 0",
                 "raw_meta_ads_campaign_stats_daily",
                 ["expect_column_values_to_be_between on spend_micros: 1 of 2 rows unexpected, e.g. [-1]"],
                 id="negative-spend"),
    pytest.param("update raw_linkedin_ads.campaign_stats_daily set clicks = 1001 where impressions = 1000",
                 "raw_linkedin_ads_campaign_stats_daily",
                 [("expect_column_pair_values_a_to_be_greater_than_b on impressions, clicks: 1 of 2 rows unexpected, "
                   "e.g. [(1000, 1001)]")],
                 id="clicks-above-impressions"),
    pytest.param("update metrics.user_retention set active_users = 11 where weeks_since_first_visit = 1",
                 "user_retention",
                 [("expect_column_pair_values_a_to_be_greater_than_b on cohort_users, active_users: "
                   "1 of 2 rows unexpected, e.g. [(10, 11)]")],
                 id="more-active-users-than-the-cohort"),
    pytest.param("update metrics.mrr_summary set churned_customers = 2 where starting_mrr = 100", "mrr_summary",
                 [("expect_column_pair_values_a_to_be_greater_than_b on starting_customers, churned_customers: "
                   "1 of 2 rows unexpected, e.g. [(1, 2)]")],
                 id="more-churned-than-starting-customers"),
    pytest.param("update metrics.feature_adoption set habitual_users = 4 where active_users = 10",
                 "feature_adoption",
                 [("expect_column_pair_values_a_to_be_greater_than_b on adopted_users, habitual_users: "
                   "1 of 2 rows unexpected, e.g. [(3, 4)]")],
                 id="more-habitual-than-adopted-users"),
    pytest.param("update core.fct_ad_spend_daily set clicks = 1001 where currency = 'EUR'",
                 "fct_ad_spend_daily",
                 [("expect_column_pair_values_a_to_be_greater_than_b on impressions, clicks: "
                   "1 of 2 rows unexpected, e.g. [(1000, 1001)]")],
                 id="more-clicks-than-impressions"),
]


@pytest.mark.parametrize(("breakage", "suite_name", "failures"), BROKEN)
def test_a_broken_row_fails_its_suite_naming_expectation_and_column(
    warehouse: duckdb.DuckDBPyConnection, breakage: str, suite_name: str, failures: list[str]
) -> None:
    warehouse.execute(breakage)
    suite = SUITE[suite_name]
    result = validate(warehouse, suite, now=NOW)
    assert (result.passed, result.rows, result.failures) == (False, _rows(suite.table), failures)
    assert result.line() == (f"{suite_name} on {suite.table}: FAILED 1 expectation(s), {_rows(suite.table)} rows: "
                             f"{failures[0]}")


def test_every_breakage_at_once_fails_exactly_the_broken_suites(warehouse: duckdb.DuckDBPyConnection) -> None:
    expected: dict[str, list[str]] = {}
    for param in BROKEN:
        breakage, suite_name, failures = param.values
        warehouse.execute(breakage)
        expected.setdefault(suite_name, []).extend(failures)
    results = _validate_all(warehouse)
    assert {name for name, result in results.items() if not result.passed} == set(expected)
    for name, failures in expected.items():
        assert sorted(results[name].failures) == sorted(failures)


def test_amounts_stored_as_floats_fail_the_integer_rule(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute("alter table raw_stripe.refunds alter amount type double")
    result = validate(warehouse, SUITE["raw_stripe_refunds"], now=NOW)
    assert result.failures == ["expect_column_values_to_be_in_type_list on amount: observed float64"]


def test_an_expectation_that_errors_fails_in_one_line(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute("alter table raw_stripe.prices alter unit_amount type varchar")
    result = validate(warehouse, SUITE["raw_stripe_prices"], now=NOW)
    assert result.failures == [
        "expect_column_values_to_be_in_type_list on unit_amount: observed str",
        ("expect_column_values_to_be_between on unit_amount: error: "
         "Column values, min_value, and max_value must either be None or of the same type.")]


def test_where_filters_the_rows_read(warehouse: duckdb.DuckDBPyConnection) -> None:
    first_month = replace(SUITE["cohort_retention"], name="cohort_month_0", where="months_since_start = 0")
    warehouse.execute("update metrics.cohort_retention set active_customers = 5 where months_since_start = 1")
    result = validate(warehouse, first_month, now=NOW)
    assert (result.passed, result.rows) == (True, 1)
    assert not validate(warehouse, SUITE["cohort_retention"], now=NOW).passed


def test_integers_with_nulls_stay_integers(warehouse: duckdb.DuckDBPyConnection) -> None:
    # si_2 (metered) has no quantity: still an integer column, not float64
    assert validate(warehouse, SUITE["raw_stripe_subscriptions__items__data"], now=NOW).passed


def test_now_defaults_to_the_current_time(warehouse: duckdb.DuckDBPyConnection) -> None:
    # the good data is dated before NOW (2026-11-01), so before the clock too
    assert validate(warehouse, SUITE["raw_ga4_events"]).passed
    assert not validate(warehouse, SUITE["raw_ga4_events"], now=datetime(2026, 1, 1)).passed  # naive = UTC


# --- currencies -----------------------------------------------------------------------------

def test_known_currencies_come_from_the_seeds_and_the_ecb_rates(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert known_currency_codes(warehouse) == {"USD", "EUR", "GBP", "JPY", "KWD"}
    warehouse.execute("delete from raw_ecb_fx.daily_rates where currency = 'GBP'")
    result = validate(warehouse, SUITE["raw_stripe_invoices"], now=NOW)
    assert result.failures == ["expect_column_values_to_be_in_set on currency: 1 of 3 rows unexpected, e.g. ['gbp']"]


def test_known_currencies_fall_back_to_the_seed_file_and_the_ecb_list_before_loading(tmp_path) -> None:
    with duckdb.connect(str(tmp_path / "raw_only.duckdb")) as con:
        codes = known_currency_codes(con)
    assert {"USD", "EUR", "GBP", "JPY", "CAD", "CHF", "BIF", "KWD"} <= codes
    assert "XXX" not in codes and all(code.isupper() and len(code) == 3 for code in codes)


# --- chunks ---------------------------------------------------------------------------------

@pytest.fixture
def seven_events(tmp_path) -> duckdb.DuckDBPyConnection:
    names = ["page_view", "bogus_1", "scroll", "bogus_2", "bogus_3", "login", "bogus_4"]
    rows = [f"('p{i}', '{name}', {BEFORE_US + i})" for i, name in enumerate(names)]
    con = duckdb.connect(str(tmp_path / "events.duckdb"))
    create_tables(con, {"raw_ga4.events": (TABLES["raw_ga4.events"][0], rows),
                        **{k: v for k, v in TABLES.items() if k.startswith("seeds.")}})
    yield con
    con.close()


def test_reads_exact_chunks_of_only_the_columns_asked(seven_events: duckdb.DuckDBPyConnection) -> None:
    frames = list(read_frames(seven_events, "select event_name from raw_ga4.events", chunk_rows=2))
    assert [len(f) for f in frames] == [2, 2, 2, 1]
    assert [list(f.columns) for f in frames] == [["event_name"]] * 4
    assert [n for f in frames for n in f["event_name"]][:3] == ["page_view", "bogus_1", "scroll"]


def test_unexpected_counts_are_summed_across_chunks(seven_events: duckdb.DuckDBPyConnection) -> None:
    one_chunk = validate(seven_events, SUITE["raw_ga4_events"], now=NOW)
    in_chunks = validate(seven_events, SUITE["raw_ga4_events"], now=NOW, chunk_rows=2)
    expected = [("expect_column_values_to_be_in_set on event_name: 4 of 7 rows unexpected, "
                "e.g. ['bogus_1', 'bogus_2', 'bogus_3']")]
    assert (in_chunks.passed, in_chunks.rows, in_chunks.failures) == (False, 7, expected)
    assert one_chunk.failures == expected


def test_a_failure_in_one_chunk_fails_the_suite(seven_events: duckdb.DuckDBPyConnection) -> None:
    seven_events.execute("update raw_ga4.events set event_name = 'page_view'")
    seven_events.execute("update raw_ga4.events set user_pseudo_id = null where user_pseudo_id = 'p6'")  # last chunk
    result = validate(seven_events, SUITE["raw_ga4_events"], now=NOW, chunk_rows=2)
    assert result.failures == [("expect_column_values_to_not_be_null on user_pseudo_id: 1 of 7 rows unexpected, "
                               "e.g. [None]")]


# --- the window of a nightly ---------------------------------------------------------------

@pytest.fixture
def ten_days(tmp_path) -> duckdb.DuckDBPyConnection:
    """Ten days of GA4 events, 2026-10-22 .. 2026-10-31, one a day."""
    con = duckdb.connect(str(tmp_path / "days.duckdb"))
    create_tables(con, {k: v for k, v in TABLES.items() if k.startswith("seeds.")})
    con.execute("create schema raw_ga4")
    con.execute("create table raw_ga4.events as select 'p' || i as user_pseudo_id, 'page_view' as event_name, "
                f"{BEFORE_US} + i as event_timestamp, "
                "strftime(date '2026-10-22' + cast(i as integer), '%Y%m%d') as event_date from range(10) t(i)")
    yield con
    con.close()


def test_a_windowed_run_reads_only_the_last_days_of_the_events(ten_days: duckdb.DuckDBPyConnection) -> None:
    """The nightly's window (orchestration/test_window.py): the last 4 days before the newest
    event_date and that day, 5 of 10; a broken event further back is the weekly run's to find."""
    ten_days.execute("update raw_ga4.events set event_name = 'bogus_old' where event_date = '20261026'")
    windowed = validate(ten_days, SUITE["raw_ga4_events"], now=NOW, window_days=4)
    assert (windowed.passed, windowed.rows) == (True, 5)
    assert windowed.line() == "raw_ga4_events on raw_ga4.events: passed, 5 rows with event_date >= '20261027'"
    everything = validate(ten_days, SUITE["raw_ga4_events"], now=NOW)
    assert (everything.passed, everything.rows, everything.scope) == (False, 10, None)

    ten_days.execute("update raw_ga4.events set event_name = 'bogus_new' where event_date = '20261027'")
    caught = validate(ten_days, SUITE["raw_ga4_events"], now=NOW, window_days=4)
    assert caught.failures == ["expect_column_values_to_be_in_set on event_name: 1 of 5 rows unexpected, "
                               "e.g. ['bogus_new']"]


def test_a_windowed_run_needs_the_window_column(seven_events: duckdb.DuckDBPyConnection) -> None:
    result = validate(seven_events, SUITE["raw_ga4_events"], now=NOW, window_days=4)
    assert (result.passed, result.failures) == (False, ["table is missing column(s) event_date"])


# --- missing tables and columns -------------------------------------------------------------

def test_a_missing_table_passes_with_no_rows(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute("drop schema raw_linkedin_ads cascade")
    result = validate(warehouse, SUITE["raw_linkedin_ads_campaign_stats_daily"], now=NOW)
    assert (result.passed, result.rows, result.failures) == (True, 0, [])
    assert result.line() == ("raw_linkedin_ads_campaign_stats_daily on raw_linkedin_ads.campaign_stats_daily: "
                             "passed, 0 rows (table raw_linkedin_ads.campaign_stats_daily does not exist: "
                             "source not configured, nothing to validate)")


def test_an_empty_table_passes_with_no_rows(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute("delete from raw_stripe.refunds")
    result = validate(warehouse, SUITE["raw_stripe_refunds"], now=NOW)
    assert (result.passed, result.rows, result.failures) == (True, 0, [])


def test_a_missing_column_fails(warehouse: duckdb.DuckDBPyConnection) -> None:
    warehouse.execute("alter table raw_stripe.charges drop column amount_refunded")
    result = validate(warehouse, SUITE["raw_stripe_charges"], now=NOW)
    assert (result.passed, result.failures) == (False, ["table is missing column(s) amount_refunded"])


def test_now_bound_is_inclusive_and_compared_as_an_instant(warehouse: duckdb.DuckDBPyConnection) -> None:
    paris = timezone(timedelta(hours=1))
    same_instant = datetime(2026, 11, 1, 1, tzinfo=paris)  # = NOW
    warehouse.execute(f"update raw_stripe.customers set created = {NOW_S} where id = 'cus_1'")
    assert validate(warehouse, SUITE["raw_stripe_customers"], now=same_instant).passed
    warehouse.execute(f"update raw_stripe.customers set created = {NOW_S + 1} where id = 'cus_1'")
    assert validate(warehouse, SUITE["raw_stripe_customers"], now=same_instant).failures == [
        f"expect_column_values_to_be_between on created: 1 of 2 rows unexpected, e.g. [{NOW_S + 1}]"]
