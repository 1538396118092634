"""Suites on the raw tables dlt loads, checked before dbt reads them.

Asset keys are the Dagster keys of the dlt resources that load the tables,
``(<dbt source name>, <table>)`` as in models/staging/<source>/_<source>__sources.yml; child
tables (``invoices__lines__data``) belong to their parent resource's asset, as their
source's ``meta.dagster.asset_key`` says.

Stripe money is an integer count of the currency's minor unit: amounts that are charged or
paid are >= 0, while invoice totals, invoice lines and balance transactions may be negative
(credits, prorations, refunds) and are only checked to be integers. Each table's ``created``
(Unix seconds) is not in the future.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestration.quality.rules import (
    integers,
    non_negative,
    not_after,
    not_less_than,
    not_null,
    one_of,
)
from orchestration.quality.suite import ExpectationBuilder, ReferenceData, Suite

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation


def _stripe_basics(ref: ReferenceData, *, currency: str | None = "currency") -> list[Expectation]:
    """Every Stripe object: an id, a creation time not in the future, a known currency."""
    rules = [*not_null("id", "created"), *not_after(ref.epoch_seconds, "created")]
    if currency:
        rules += one_of(currency, ref.stripe_currency_codes)
    return rules


def _customers(ref: ReferenceData) -> list[Expectation]:
    # customers.currency is unset until a first subscription, and dlt creates no column that
    # was always null: not read, so a young account does not fail on a missing column.
    return _stripe_basics(ref, currency=None)


def _subscriptions(ref: ReferenceData) -> list[Expectation]:
    return [*_stripe_basics(ref), *not_null("currency")]


def _subscription_items(ref: ReferenceData) -> list[Expectation]:
    # quantity is null for metered prices; unit_amount is null for tiered ones.
    return [*_stripe_basics(ref, currency="price__currency"),
            *integers("price__unit_amount", "quantity"), *non_negative("price__unit_amount", "quantity")]


def _prices(ref: ReferenceData) -> list[Expectation]:
    return [*_stripe_basics(ref), *not_null("currency"), *integers("unit_amount"), *non_negative("unit_amount")]


def _invoices(ref: ReferenceData) -> list[Expectation]:
    paid = ("amount_due", "amount_paid", "amount_remaining")
    return [*_stripe_basics(ref), *not_null("currency", *paid), *integers(*paid, "total"),
            *non_negative(*paid), *not_less_than("amount_due", "amount_paid")]


def _invoice_lines(ref: ReferenceData) -> list[Expectation]:
    # A child table: no created; proration credits make negative amounts.
    return [*not_null("id", "amount", "currency"), *one_of("currency", ref.stripe_currency_codes),
            *integers("amount", "quantity"), *non_negative("quantity")]


def _charges(ref: ReferenceData) -> list[Expectation]:
    money = ("amount", "amount_captured", "amount_refunded")
    return [*_stripe_basics(ref), *not_null("currency", *money), *integers(*money), *non_negative(*money),
            *not_less_than("amount", "amount_refunded"), *not_less_than("amount", "amount_captured")]


def _refunds(ref: ReferenceData) -> list[Expectation]:
    return [*_stripe_basics(ref), *not_null("currency", "amount"), *integers("amount"), *non_negative("amount")]


def _balance_transactions(ref: ReferenceData) -> list[Expectation]:
    # amount and net are negative for refunds; Stripe's fee never is.
    return [*_stripe_basics(ref), *not_null("currency", "amount", "fee"), *integers("amount", "fee", "net"),
            *non_negative("fee")]


def _ga4_events(ref: ReferenceData) -> list[Expectation]:
    return [*not_null("user_pseudo_id", "event_name", "event_timestamp"),
            *one_of("event_name", sorted(ref.ga4_event_names)),
            *not_after(ref.epoch_microseconds, "event_timestamp")]


def _ad_stats(ref: ReferenceData) -> list[Expectation]:
    """Daily campaign stats, the same columns on every platform (money as integer micros)."""
    counts = ("spend_micros", "impressions", "clicks")
    return [*not_null("date", "campaign_id", "currency", *counts), *not_after(ref.today, "date"),
            *one_of("currency", ref.ad_currency_codes), *integers(*counts), *non_negative(*counts),
            *not_less_than("impressions", "clicks")]


def _stripe(table: str, build: ExpectationBuilder, asset_table: str | None = None) -> Suite:
    return Suite(name=f"raw_stripe_{table}", table=f"raw_stripe.{table}", asset_key=("stripe", asset_table or table),
                 expectations=build)


def _ad_platform(source: str) -> Suite:
    return Suite(name=f"raw_{source}_campaign_stats_daily", table=f"raw_{source}.campaign_stats_daily",
                 asset_key=(source, "campaign_stats_daily"), expectations=_ad_stats)


RAW_SUITES: tuple[Suite, ...] = (
    _stripe("customers", _customers),
    _stripe("subscriptions", _subscriptions),
    _stripe("subscriptions__items__data", _subscription_items, asset_table="subscriptions"),
    _stripe("prices", _prices),
    _stripe("invoices", _invoices),
    _stripe("invoices__lines__data", _invoice_lines, asset_table="invoices"),
    _stripe("charges", _charges),
    _stripe("refunds", _refunds),
    _stripe("balance_transactions", _balance_transactions),
    Suite(name="raw_ga4_events", table="raw_ga4.events", asset_key=("ga4", "events"), expectations=_ga4_events,
          window_column="event_date"),
    _ad_platform("google_ads"),
    _ad_platform("meta_ads"),
    _ad_platform("linkedin_ads"),
)
