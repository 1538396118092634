"""Suites on the dbt marts BI tools read, checked before the warehouse is published.

The ranges are METRICS.md's: money and counts are >= 0, a rate that is a share of a whole
(churn, retention capped at the start, adoption, CTR, cohorted funnel steps) lies in [0, 1],
and rates that may exceed 1 (NRR, quick ratio, by-event-month funnel steps) are only >= 0.
MRR growth is >= -1: MRR cannot fall below zero. Asset keys are the dbt models' keys.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from orchestration.quality.rules import (
    at_least,
    fractions,
    non_negative,
    not_less_than,
    not_null,
    one_of,
)
from orchestration.quality.suite import ExpectationBuilder, ReferenceData, Suite

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

MRR_AMOUNTS = ("starting_mrr", "new_mrr", "reactivation_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr",
               "ending_mrr", "ending_arr")
MRR_CUSTOMERS = ("starting_customers", "new_customers", "reactivated_customers", "expanded_customers",
                 "contracted_customers", "churned_customers", "ending_customers")
MRR_SHARES = ("logo_churn_rate", "gross_mrr_churn_rate", "gross_revenue_retention", "trailing_3_month_logo_churn_rate")
MRR_RATIOS = ("quick_ratio", "net_revenue_retention", "trailing_12_month_net_revenue_retention", "arpa", "ltv")


def _mrr_summary(ref: ReferenceData) -> list[Expectation]:
    return [*one_of("currency_scope", ["currency", "reporting"]), *not_null(*MRR_AMOUNTS, *MRR_CUSTOMERS),
            *non_negative(*MRR_AMOUNTS, *MRR_CUSTOMERS, *MRR_RATIOS), *fractions(*MRR_SHARES),
            *at_least(-1, "mrr_growth_rate")]


def _fct_mrr_daily(ref: ReferenceData) -> list[Expectation]:
    # A null reporting-currency amount means a rate is missing (int_fx_rates_monthly stops that).
    money = ("mrr_amount", "mrr_amount_usd")
    return [*not_null(*money, "active_customers"), *non_negative(*money, "active_customers")]


def _cohort_retention(ref: ReferenceData) -> list[Expectation]:
    counts = ("months_since_start", "cohort_customers", "active_customers")
    money = ("cohort_starting_mrr_amount_usd", "mrr_amount_usd")
    shares = ("logo_retention", "gross_revenue_retention")
    return [*not_null(*counts, *money, *shares, "net_revenue_retention"),
            *non_negative(*counts, *money, "net_revenue_retention"), *fractions(*shares),
            *not_less_than("cohort_customers", "active_customers")]


def _user_retention(ref: ReferenceData) -> list[Expectation]:
    counts = ("weeks_since_first_visit", "cohort_users", "active_users")
    shares = ("retention_rate", "day_1_retention", "day_7_retention", "day_30_retention", "day_90_retention")
    return [*not_null(*counts, "retention_rate"), *non_negative(*counts), *fractions(*shares),
            *not_less_than("cohort_users", "active_users")]


FEATURE_STAGES = ("active_users", "discovered_users", "tried_users", "adopted_users", "habitual_users")


def _feature_adoption(ref: ReferenceData) -> list[Expectation]:
    nested = [rule for larger, smaller in itertools.pairwise(FEATURE_STAGES)
              for rule in not_less_than(larger, smaller)]
    return [*not_null(*FEATURE_STAGES), *non_negative(*FEATURE_STAGES),
            *fractions("discovery_rate", "trial_rate", "adoption_rate", "habitual_rate"), *nested]


FUNNEL_STAGES = ("visitors", "sign_ups", "activated", "trials", "paid", "expanded")
#: Steps that compare a stage with a subset of it in the cohorted view. sign_up -> activated
#: and activated -> trial are not: stages need not happen in order (a trial without an
#: activated event), so those may exceed 1 even there.
FUNNEL_SHARES = ("visitor_to_sign_up_rate", "trial_to_paid_rate", "paid_to_expanded_rate", "visitor_to_trial_rate",
                 "visitor_to_paid_rate")
FUNNEL_RATES = (*FUNNEL_SHARES, "sign_up_to_activated_rate", "activated_to_trial_rate")


def _funnel(ref: ReferenceData) -> list[Expectation]:
    return [*one_of("funnel_view", ["cohorted", "by_event_month"]), *not_null(*FUNNEL_STAGES),
            *non_negative(*FUNNEL_STAGES, *FUNNEL_RATES), *fractions(*FUNNEL_SHARES, when=("funnel_view", "cohorted"))]


CHANNEL_MONEY = ("spend_amount_usd", "cost_per_click_usd", "cost_per_mille_usd", "new_mrr_amount_usd", "cac_usd",
                 "blended_cac_usd")
CHANNEL_COUNTS = ("impressions", "clicks", "sessions", "new_users", "sign_ups", "trials", "new_customers")


def _channel_performance(ref: ReferenceData) -> list[Expectation]:
    return [*not_null("spend_amount_usd"),
            *non_negative(*CHANNEL_MONEY, *CHANNEL_COUNTS, "first_year_roas", "payback_months", "ltv_to_cac"),
            *fractions("click_through_rate"), *not_less_than("impressions", "clicks")]


def _channel_attribution(ref: ReferenceData) -> list[Expectation]:
    # A channel's credit for a conversion is at most 1, and it only gets credit if it touched it.
    measures = ("attributed_conversions", "attributed_value_usd", "touched_conversions")
    return [*one_of("conversion_type", ["trial_start", "paid"]), *not_null(*measures), *non_negative(*measures),
            *not_less_than("touched_conversions", "attributed_conversions")]


#: kpi_alerts metrics that are shares of a whole, and those that are counts or money.
KPI_SHARES = ("monthly_logo_churn_rate", "trial_to_paid_conversion_rate", "landing_page_conversion_rate")
KPI_NON_NEGATIVE = ("weekly_trial_signups", "blended_cac_usd")


def _kpi_alerts(ref: ReferenceData) -> list[Expectation]:
    per_metric = [rule for metric in KPI_SHARES for rule in fractions("metric_value", when=("metric", metric))]
    per_metric += [rule for metric in KPI_NON_NEGATIVE for rule in non_negative("metric_value", when=("metric", metric))]
    return [*not_null("metric", "status"), *one_of("status", ["green", "yellow", "red", "neutral"]),
            *one_of("direction", ["higher_is_better", "lower_is_better"]), *one_of("period_grain", ["week", "month"]),
            *per_metric]


def _fct_ad_spend_daily(ref: ReferenceData) -> list[Expectation]:
    # A null reporting-currency amount means the account's currency or month has no rate.
    money = ("spend_amount", "spend_amount_usd")
    return [*not_null(*money, "impressions", "clicks", "currency"), *one_of("currency", ref.ad_currency_codes),
            *non_negative(*money, "impressions", "clicks"), *not_less_than("impressions", "clicks")]


def _model(name: str, columns: tuple[str, ...], build: ExpectationBuilder) -> Suite:
    return Suite(name=name, table=f"main.{name}", asset_key=(name,), columns=columns, expectations=build)


MART_SUITES: tuple[Suite, ...] = (
    _model("mrr_summary", ("currency_scope", *MRR_AMOUNTS, *MRR_CUSTOMERS, *MRR_SHARES, *MRR_RATIOS,
                           "mrr_growth_rate"), _mrr_summary),
    _model("fct_mrr_daily", ("mrr_amount", "mrr_amount_usd", "active_customers"), _fct_mrr_daily),
    _model("cohort_retention", ("months_since_start", "cohort_customers", "active_customers",
                                "cohort_starting_mrr_amount_usd", "mrr_amount_usd", "logo_retention",
                                "gross_revenue_retention", "net_revenue_retention"), _cohort_retention),
    _model("user_retention", ("weeks_since_first_visit", "cohort_users", "active_users", "retention_rate",
                              "day_1_retention", "day_7_retention", "day_30_retention", "day_90_retention"),
           _user_retention),
    _model("feature_adoption", (*FEATURE_STAGES, "discovery_rate", "trial_rate", "adoption_rate", "habitual_rate"),
           _feature_adoption),
    _model("funnel", ("funnel_view", *FUNNEL_STAGES, *FUNNEL_RATES), _funnel),
    _model("channel_performance", (*CHANNEL_MONEY, *CHANNEL_COUNTS, "first_year_roas", "payback_months",
                                   "ltv_to_cac", "click_through_rate"), _channel_performance),
    _model("channel_attribution", ("conversion_type", "attributed_conversions", "attributed_value_usd",
                                   "touched_conversions"), _channel_attribution),
    _model("kpi_alerts", ("metric", "metric_value", "status", "direction", "period_grain"), _kpi_alerts),
    _model("fct_ad_spend_daily", ("spend_amount", "spend_amount_usd", "impressions", "clicks", "currency"),
           _fct_ad_spend_daily),
)
