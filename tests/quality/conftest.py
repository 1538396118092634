"""A tiny warehouse holding every table and column the suites read, with correct data.

No dbt and no sandbox: each table is written by hand with a few rows that respect the rules
(including the legitimate oddities the real data has: negative invoice totals and proration
lines, refunds in balance transactions, a metered item without quantity, by-event-month
funnel rates above 1, ratios that are null). Built once per module, copied per test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

#: The tests' "now": every timestamp below is before it.
NOW = datetime(2026, 11, 1, tzinfo=UTC)
NOW_S = int(NOW.timestamp())  # 1793491200
NOW_US = NOW_S * 1_000_000
BEFORE_S = NOW_S - 86_400 * 30
BEFORE_US = BEFORE_S * 1_000_000

#: "schema.table" -> (column definitions, rows as SQL value tuples)
TABLES: dict[str, tuple[str, list[str]]] = {
    "raw_stripe.customers": ("id varchar, created bigint", [
        f"('cus_1', {BEFORE_S})", f"('cus_2', {BEFORE_S + 60})",
    ]),
    "raw_stripe.subscriptions": ("id varchar, created bigint, currency varchar", [
        f"('sub_1', {BEFORE_S}, 'usd')", f"('sub_2', {BEFORE_S}, 'jpy')",
    ]),
    "raw_stripe.subscriptions__items__data": (
        "id varchar, created bigint, price__currency varchar, price__unit_amount bigint, quantity bigint", [
            f"('si_1', {BEFORE_S}, 'usd', 2900, 3)",
            f"('si_2', {BEFORE_S}, 'jpy', 400, null)",  # metered: no quantity
        ]),
    "raw_stripe.prices": ("id varchar, created bigint, currency varchar, unit_amount bigint", [
        f"('price_1', {BEFORE_S}, 'usd', 2900)", f"('price_2', {BEFORE_S}, 'jpy', 400)",
    ]),
    "raw_stripe.invoices": (
        ("id varchar, created bigint, currency varchar, amount_due bigint, amount_paid bigint,"
         " amount_remaining bigint, total bigint"), [
            f"('in_1', {BEFORE_S}, 'usd', 2900, 2900, 0, 2900)",
            f"('in_2', {BEFORE_S}, 'eur', 1500, 0, 1500, 1500)",
            f"('in_3', {BEFORE_S}, 'gbp', 0, 0, 0, -700)",  # a downgrade's credit
        ]),
    "raw_stripe.invoices__lines__data": ("id varchar, currency varchar, amount bigint, quantity bigint", [
        "('il_1', 'usd', 2900, 1)", "('il_2', 'gbp', -1200, 1)", "('il_3', 'gbp', 500, 1)",
    ]),
    "raw_stripe.charges": (
        ("id varchar, created bigint, currency varchar, amount bigint, amount_captured bigint,"
         " amount_refunded bigint"), [
            f"('ch_1', {BEFORE_S}, 'usd', 2900, 2900, 1000)", f"('ch_2', {BEFORE_S}, 'eur', 1500, 0, 0)",
        ]),
    "raw_stripe.refunds": ("id varchar, created bigint, currency varchar, amount bigint", [
        f"('re_1', {BEFORE_S}, 'usd', 1000)",
    ]),
    "raw_stripe.balance_transactions": (
        "id varchar, created bigint, currency varchar, amount bigint, fee bigint, net bigint", [
            f"('txn_1', {BEFORE_S}, 'usd', 2900, 114, 2786)", f"('txn_2', {BEFORE_S}, 'usd', -1000, 0, -1000)",
        ]),
    "raw_ga4.events": ("user_pseudo_id varchar, event_name varchar, event_timestamp bigint", [
        f"('p1', 'first_visit', {BEFORE_US})", f"('p1', 'page_view', {BEFORE_US + 1})",
        f"('p1', 'sign_up', {BEFORE_US + 2})", f"('p2', 'click', {BEFORE_US + 3})",
    ]),
    **{
        f"raw_{source}.campaign_stats_daily": (
            ("date date, campaign_id varchar, currency varchar, spend_micros bigint, impressions bigint,"
             " clicks bigint"), [
                f"(date '2026-10-30', '1', '{currency}', 7060000, 1000, 12)",
                f"(date '2026-11-01', '1', '{currency}', 0, 0, 0)",  # today: partial stats
            ])
        for source, currency in (("google_ads", "USD"), ("meta_ads", "EUR"), ("linkedin_ads", "GBP"))
    },
    "metrics.mrr_summary": (
        ("currency_scope varchar, starting_mrr decimal(38,6), new_mrr decimal(38,6),"
         " reactivation_mrr decimal(38,6), expansion_mrr decimal(38,6), contraction_mrr decimal(38,6),"
         " churn_mrr decimal(38,6), ending_mrr decimal(38,6), ending_arr decimal(38,6),"
         " starting_customers hugeint, new_customers hugeint, reactivated_customers hugeint,"
         " expanded_customers hugeint, contracted_customers hugeint, churned_customers hugeint,"
         " ending_customers hugeint, logo_churn_rate decimal(38,6), gross_mrr_churn_rate decimal(38,6),"
         " gross_revenue_retention decimal(38,6), trailing_3_month_logo_churn_rate decimal(38,6),"
         " quick_ratio decimal(38,6), net_revenue_retention decimal(38,6),"
         " trailing_12_month_net_revenue_retention decimal(38,6), arpa decimal(38,6), ltv decimal(38,6),"
         " mrr_growth_rate decimal(38,6)"), [
            ("('reporting', 0, 100, 0, 0, 0, 0, 100, 1200, 0, 1, 0, 0, 0, 0, 1,"
             " null, null, null, null, null, null, null, 100, null, null)"),
            ("('reporting', 100, 0, 0, 20, 0, 100, 20, 240, 1, 0, 0, 1, 0, 1, 1,"
             " 1.0, 0.5, 0.5, 0.333333, 0.2, 0.7, null, 20, 60, -0.8)"),
        ]),
    "core.fct_mrr_daily": ("mrr_amount decimal(38,6), mrr_amount_usd decimal(38,6), active_customers hugeint", [
        "(100, 100, 1)", "(0, 0, 0)",
    ]),
    "metrics.cohort_retention": (
        ("months_since_start bigint, cohort_customers bigint, active_customers hugeint,"
         " cohort_starting_mrr_amount_usd decimal(38,6), mrr_amount_usd decimal(38,6),"
         " logo_retention decimal(38,6), gross_revenue_retention decimal(38,6),"
         " net_revenue_retention decimal(38,6), capped_mrr_amount_usd decimal(38,6)"), [
            "(0, 4, 4, 100, 100, 1, 1, 1, 100)", "(1, 4, 3, 100, 130, 0.75, 0.8, 1.3, 80)",  # NRR may exceed 1
        ]),
    "metrics.user_retention": (
        ("weeks_since_first_visit bigint, cohort_users bigint, active_users bigint, retention_rate decimal(38,6),"
         " day_1_retention decimal(38,6), day_7_retention decimal(38,6), day_30_retention decimal(38,6),"
         " day_90_retention decimal(38,6)"), [
            "(0, 10, 10, 1, 0.1, 0.05, null, null)", "(1, 10, 2, 0.2, 0.1, 0.05, null, null)",
        ]),
    "metrics.feature_adoption": (
        ("active_users bigint, discovered_users hugeint, tried_users hugeint, adopted_users hugeint,"
         " habitual_users hugeint, discovery_rate decimal(38,6), trial_rate decimal(38,6),"
         " adoption_rate decimal(38,6), habitual_rate decimal(38,6)"), [
            "(10, 10, 6, 3, 1, 1, 0.6, 0.3, 0.1)", "(5, 4, 2, 2, 0, 0.8, 0.4, 0.4, 0)",
        ]),
    "metrics.user_engagement": (
        "activity_date date, daily_active_users bigint, monthly_active_users bigint, dau_mau_ratio decimal(38,6)", [
            "(date '2026-10-30', 39, 200, 0.195)", "(date '2026-10-31', 0, 0, null)",  # no MAU: no ratio
        ]),
    "metrics.funnel": (
        ("funnel_view varchar, channel varchar, visitors hugeint, sign_ups hugeint, activated hugeint, trials hugeint,"
         " paid hugeint, expanded hugeint, visitor_to_sign_up_rate decimal(38,6),"
         " trial_to_paid_rate decimal(38,6), paid_to_expanded_rate decimal(38,6),"
         " visitor_to_trial_rate decimal(38,6), visitor_to_paid_rate decimal(38,6),"
         " sign_up_to_activated_rate decimal(38,6), activated_to_trial_rate decimal(38,6)"), [
            "('cohorted', 'Email', 100, 10, 2, 4, 2, 1, 0.1, 0.5, 0.5, 0.04, 0.02, 0.2, 2)",
            "('by_event_month', 'Email', 100, 10, 2, 4, 6, 0, 0.1, 1.5, 0, 0.04, 0.06, 0.2, 2)",  # may exceed 1
        ]),
    "metrics.channel_performance": (
        ("channel varchar, spend_amount_usd decimal(38,6), cost_per_click_usd decimal(38,6),"
         " cost_per_mille_usd decimal(38,6), new_mrr_amount_usd decimal(38,24), cac_usd decimal(38,6),"
         " blended_cac_usd decimal(38,6),"
         " impressions hugeint, clicks hugeint, sessions bigint, new_users bigint, sign_ups bigint,"
         " trials decimal(38,18), new_customers decimal(38,18), first_year_roas decimal(38,6),"
         " payback_months decimal(38,6), ltv_to_cac decimal(38,6), click_through_rate decimal(38,6),"
         " arpa_usd decimal(38,6), ltv_usd decimal(38,6)"), [
            "('Paid Search', 100, 2.5, 40, 300, 50, 90, 2500, 40, 500, 100, 10, 3.5, 2, 36, 1.2, 4.1, 0.016,"
            " 41.666667, 205)",
            "('Unattributed', 0, null, null, 100, 0, 90, 0, 0, 300, 80, 5, 1.5, 1, null, 0, null, null,"
            " 41.666667, 205)",
        ]),
    "metrics.channel_attribution": (
        ("conversion_type varchar, attribution_model varchar, channel varchar,"
         " attributed_conversions decimal(38,18), attributed_value_usd decimal(38,24),"
         " touched_conversions bigint"), [
            "('trial_start', 'position_based', 'Paid Social', 2.4, 0, 3)",
            "('paid', 'position_based', 'Direct', 1, 290, 1)",
        ]),
    "metrics.kpi_alerts": (
        ("metric varchar, metric_value decimal(38,6), status varchar, direction varchar, period_grain varchar,"
         " period_start date, is_latest_period boolean"), [
            "('monthly_logo_churn_rate', 0.04, 'green', 'lower_is_better', 'month', date '2026-10-01', true)",
            # growth may be negative
            "('mrr_growth_rate', -0.2, 'red', 'higher_is_better', 'month', date '2026-10-01', true)",
            "('weekly_trial_signups', 55, 'green', 'higher_is_better', 'week', date '2026-10-19', true)",
        ]),
    "core.fct_ad_spend_daily": (
        ("platform varchar, channel varchar, spend_amount decimal(18,6), spend_amount_usd decimal(18,6),"
         " impressions bigint, clicks bigint, currency varchar, spend_date date"), [
            "('meta_ads', 'Paid Social', 7.06, 7.66, 1000, 12, 'EUR', date '2026-10-30')",
            "('google_ads', 'Paid Search', 0, 0, 0, 0, 'USD', date '2026-10-31')",
        ]),
    "seeds.currency_exponents": ("currency varchar, exponent integer", ["('JPY', 0)", "('KWD', 3)"]),
    "raw_ecb_fx.daily_rates": ("date date, currency varchar, rate varchar", [
        f"(date '2026-10-30', '{code}', '1.5')" for code in ("USD", "GBP", "JPY")
    ]),
}


def create_tables(con: duckdb.DuckDBPyConnection, tables: dict[str, tuple[str, list[str]]]) -> None:
    for name, (columns, rows) in tables.items():
        schema = name.split(".")[0]
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {name} ({columns})")
        if rows:
            con.execute(f"insert into {name} values {', '.join(rows)}")


@pytest.fixture(scope="module")
def good_warehouse_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("quality") / "good.duckdb"
    with duckdb.connect(str(path)) as con:
        create_tables(con, TABLES)
    return path


@pytest.fixture
def warehouse(good_warehouse_file: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of the good warehouse, for a test to break."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(good_warehouse_file, path)
    with duckdb.connect(str(path)) as con:
        yield con
