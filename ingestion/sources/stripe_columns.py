"""The type of every Stripe column the dbt models read, declared once as dlt column hints.

dlt creates a column when a value first arrives: a field that is null on every object an
account holds (no customer with an address, no price with a lookup key, no invoice with tax,
no discount, no trial) would otherwise have no column, and staging could not select it.
Declared here, it exists from the first load, typed, whatever the account holds.

Both shapes of Stripe's objects are declared: the 2024-06-20 fields and the ones newer API
versions moved them to (``parent``, ``pricing``, item-level periods; see
models/staging/stripe/), so staging reads ``coalesce(new, old)`` on any account.
Deeper nested objects that dlt keeps as JSON at ``max_table_nesting=2`` (an invoice line's
``pricing.price_details``, ``parent.*_details``) are declared ``json``.
"""

from __future__ import annotations

from typing import Any

Columns = dict[str, dict[str, Any]]


def _columns(spec: str) -> Columns:
    """Column hints from ``"type: name name ...; type: ..."`` (each with its ``name``, as nested
    table hints need); columns keep the order written."""
    columns: Columns = {}
    for part in spec.split(";"):
        data_type, names = part.split(":")
        for name in names.split():
            columns[name] = {"name": name, "data_type": data_type.strip()}
    return columns


#: The single discount of 2024-06-20 subscriptions and invoices, flattened with its coupon.
_DISCOUNT = _columns(
    "text: discount__id discount__coupon__id discount__coupon__duration;"
    " bigint: discount__coupon__amount_off discount__start discount__end;"
    " double: discount__coupon__percent_off"
)
#: ``discounts`` expanded to Discount objects: the coupon's id is ``coupon.id`` (2024-06-20
#: to basil) or ``source.coupon`` (clover and later).
_DISCOUNTS = _columns("text: id coupon__id source__coupon; bigint: start end")

#: Every table's columns, by table name (the resources' names in stripe.py).
COLUMNS: dict[str, Columns] = {
    "customers": _columns(
        "text: id currency email name address__country metadata__user_id;"
        " bigint: created; bool: delinquent"
    ),
    "products": _columns("text: id name; bigint: created; bool: active"),
    "prices": _columns(
        "text: id product nickname lookup_key type currency recurring__interval"
        " recurring__usage_type; bigint: unit_amount recurring__interval_count created;"
        " bool: active"
    ),
    "coupons": _columns(
        "text: id name duration currency; bigint: created duration_in_months amount_off;"
        " bool: valid; double: percent_off"
    ),
    "subscriptions": _columns(
        "text: id customer currency status collection_method latest_invoice;"
        " bigint: created start_date billing_cycle_anchor current_period_start"
        " current_period_end trial_start trial_end cancel_at canceled_at ended_at;"
        " bool: cancel_at_period_end"
    ) | _DISCOUNT,
    "invoices": _columns(
        "text: id customer subscription parent__subscription_details__subscription currency"
        " billing_reason status charge; bigint: attempt_count subtotal tax total"
        " total_excluding_tax amount_due amount_paid amount_remaining created period_start"
        " period_end status_transitions__finalized_at status_transitions__paid_at"
        " status_transitions__marked_uncollectible_at"
    ) | _DISCOUNT,
    "charges": _columns(
        "text: id invoice customer currency status failure_code payment_intent;"
        " bigint: amount amount_captured amount_refunded created; bool: paid"
    ),
    "invoice_payments": _columns(
        "text: id invoice currency status payment__type payment__payment_intent"
        " payment__charge; bigint: amount_paid amount_requested created"
    ),
    "refunds": _columns("text: id charge currency status; bigint: amount created"),
    "balance_transactions": _columns(
        "text: id currency type source status; bigint: amount fee net created available_on"
    ),
    "events": _columns("text: id type; bigint: created; json: data"),
    "subscription_history": _columns(
        "text: subscription_id state_hash status customer; bigint: observed_at"
        " current_period_start current_period_end canceled_at ended_at;"
        " bool: cancel_at_period_end; json: state"
    ),
}
SUBSCRIPTION_ITEMS = _columns(
    "text: id subscription price__id price__currency plan__interval plan__usage_type;"
    " bigint: quantity price__unit_amount plan__interval_count created current_period_start"
    " current_period_end"
)
INVOICE_LINES = _columns(
    "text: id invoice subscription subscription_item type description currency price__id"
    " plan__interval plan__usage_type pricing__unit_amount_decimal parent__type;"
    " bigint: quantity amount price__unit_amount plan__interval_count period__start"
    " period__end; bool: proration discountable; json: pricing__price_details"
    " parent__subscription_item_details parent__invoice_item_details"
)

#: Nested tables, by path below their resource's table; dlt would derive the parent from the
#: path (``invoices__lines``), but ``lines`` is an object flattened into ``invoices``.
NESTED: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
    "subscriptions": {
        ("items", "data"): {"parent_table_name": "subscriptions", "columns": SUBSCRIPTION_ITEMS},
        ("discounts",): {"parent_table_name": "subscriptions", "columns": _DISCOUNTS},
    },
    "invoices": {
        ("lines", "data"): {"parent_table_name": "invoices", "columns": INVOICE_LINES},
        ("discounts",): {"parent_table_name": "invoices", "columns": _DISCOUNTS},
    },
}
