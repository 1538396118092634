"""Stripe API versions: the sandbox stores objects in one shape and renders them per version.

Stripe answers each request in the version its ``Stripe-Version`` header names, or in the
account's default version when there is none; event payloads (``data.object``) are rendered
once, in the account's default version when the event happened, whatever the request asks
(Stripe's OpenAPI, ``GET /v1/events``: "Each event data is rendered according to Stripe API
version at its creation time ... not according to your current Stripe API version or
Stripe-Version header").

The simulation renders every object in the 2024-06-20 shape (``STORED_VERSION``). This module
derives the newer shapes from it at serve time, change by change, as Stripe's changelog lists
them (https://docs.stripe.com/changelog), checked against the object definitions of the
official ``stripe`` SDK 16.1.0, which pins ``2026-10-28.endive``:

- 2025-03-31.basil
  - ``subscription.current_period_start/_end`` moved to its items
    (changelog/basil/2025-03-31/deprecate-subscription-current-period-start-and-end);
  - ``invoice.subscription`` -> ``invoice.parent.subscription_details.subscription``; on line
    items ``type``, ``subscription_item``, ``invoice_item``, ``proration``,
    ``proration_details`` -> ``line.parent.{subscription_item,invoice_item}_details``
    (changelog/basil/2025-03-31/adds-new-parent-field-to-invoicing-objects);
  - line items' ``price`` and ``plan`` -> ``pricing.price_details.price`` and
    ``pricing.unit_amount_decimal`` (changelog/basil/2025-03-31/invoice-pricing-configurations);
  - ``invoice.charge``, ``.payment_intent``, ``.paid`` and ``charge.invoice`` removed: invoice
    payments link them
    (changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices);
  - line ``tax_amounts`` -> ``taxes``, line ``amount_excluding_tax`` removed (stripe-python
    12.0.0 release notes, the SDK of basil); ``invoice.tax`` and ``.total_tax_amounts`` ->
    ``total_taxes`` (absent from / present in the SDK 16.1.0 Invoice);
  - the single ``discount`` of subscriptions and invoices removed: ``discounts`` (ids, or
    Discount objects with ``expand[]=discounts``) remains
    (changelog/basil/2025-03-31/deprecate-singular-coupon-promotion-code);
  - ``total_count`` is no longer served on lists; legacy metered billing's
    ``recurring.aggregate_usage`` removed.
- 2025-09-30.clover: a Discount's auto-expanded ``coupon`` -> ``source.coupon`` (an id)
  (changelog/clover/2025-09-30/add-discount-source-property).
- dahlia (2026-03-25) and endive (2026-09-30): no change found to a field these objects
  carry (endive's billing_cycle_anchor change is to a request parameter); the SDK's 2026-10-28
  objects have the fields rendered here.

Only ``discounts`` honours ``expand``: the stored objects already embed what the other
expansions would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

#: The version the simulation writes objects in, and the sandbox account's default version.
STORED_VERSION = "2024-06-20"
#: The newest version the sandbox renders: the one the official SDK in uv.lock pins.
NEWEST_VERSION = "2026-10-28.endive"
#: Each release's first version date (Stripe's changelog); monthly versions keep the name.
RELEASES = (
    ("2024-09-30", "acacia"),
    ("2025-03-31", "basil"),
    ("2025-09-30", "clover"),
    ("2026-03-25", "dahlia"),
    ("2026-09-30", "endive"),
)
BASIL = "2025-03-31"
CLOVER = "2025-09-30"

_VERSION = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})(?:\.(?P<name>[a-z]+))?$")

Obj = dict[str, Any]


class UnknownVersion(ValueError):
    """A ``Stripe-Version`` the sandbox cannot render."""

    def __init__(self, version: str):
        super().__init__(
            f"Invalid Stripe API version: {version}. The Northstar sandbox renders "
            f"{STORED_VERSION} and the named versions from 2024-09-30.acacia to {NEWEST_VERSION}."
        )
        self.version = version


def version_date(version: str) -> str:
    """The date part of a version the sandbox knows (``2025-03-31.basil`` -> ``2025-03-31``).

    Known: ``STORED_VERSION`` and any ``<date>.<release>`` from the first acacia version up
    to ``NEWEST_VERSION`` whose release name is the one in force on that date.
    """
    match = _VERSION.match(version.strip())
    if match is None:
        raise UnknownVersion(version)
    date, name = match["date"], match["name"]
    if name is None:
        if date != STORED_VERSION:
            raise UnknownVersion(version)
        return date
    newest = NEWEST_VERSION.split(".")[0]
    in_force = [release for start, release in RELEASES if start <= date]
    if not in_force or in_force[-1] != name or date > newest:
        raise UnknownVersion(version)
    return date


# --- objects -----------------------------------------------------------------------------------


def render(obj: Obj, date: str, expand: Iterable[str] = ()) -> Obj:
    """``obj`` (stored shape) as Stripe serves it at version ``date`` (from ``version_date``).

    ``expand`` holds the request's expansions relative to the object (``discounts``).
    """
    renderer = _RENDERERS.get(obj.get("object", ""))
    return renderer(obj, date, frozenset(expand)) if renderer else obj


def render_event(event: Obj, account_version: str) -> Obj:
    """An event with ``data.object`` (and ``previous_attributes``) in the account's version."""
    account_date = version_date(account_version)
    data = event.get("data") or {}
    obj = data.get("object")
    if account_date == STORED_VERSION:
        return event
    if not isinstance(obj, dict):
        return {**event, "api_version": account_version}
    rendered: Obj = {"object": render(obj, account_date)}
    if "previous_attributes" in data:
        removed = set(obj) - set(rendered["object"])
        previous = {k: v for k, v in data["previous_attributes"].items() if k not in removed}
        if isinstance(previous.get("items"), dict):
            previous["items"] = _list(previous["items"], _item, account_date)
        rendered["previous_attributes"] = previous
    return {**event, "api_version": account_version, "data": rendered}


def _without(obj: Obj, *keys: str) -> Obj:
    return {k: v for k, v in obj.items() if k not in keys}


def _list(embedded: Obj, render_one: Callable[[Obj, str], Obj], date: str) -> Obj:
    """An embedded list object (``items``, ``lines``); basil stopped serving ``total_count``."""
    rendered = {**embedded, "data": [render_one(o, date) for o in embedded.get("data") or []]}
    return _without(rendered, "total_count") if date >= BASIL else rendered


def _recurring(recurring: Obj | None, date: str) -> Obj | None:
    if recurring is None or date < BASIL:
        return recurring
    return _without(recurring, "aggregate_usage")


def _price(price: Obj, date: str, _expand: frozenset[str] = frozenset()) -> Obj:
    if date < BASIL:
        return price
    return {**price, "recurring": _recurring(price.get("recurring"), date)}


def _plan(plan: Obj | None, date: str) -> Obj | None:
    if plan is None or date < BASIL:
        return plan
    return _without(plan, "aggregate_usage")


def _item(item: Obj, date: str) -> Obj:
    if date < BASIL:
        return item
    return {**item, "price": _price(item["price"], date), "plan": _plan(item.get("plan"), date)}


def _discount(discount: Obj, date: str) -> Obj:
    """A Discount object: clover replaced its expanded ``coupon`` by ``source.coupon`` (an id)."""
    if date < CLOVER:
        return discount
    coupon = discount.get("coupon") or {}
    return {
        **_without(discount, "coupon"),
        "source": {"coupon": coupon.get("id"), "type": "coupon"},
        "subscription_item": discount.get("subscription_item"),
    }


def _discounts(obj: Obj, date: str, expand: frozenset[str]) -> list:
    """``discounts`` as ids, or as Discount objects when expanded (the stored shape keeps the
    applied discount's object in the singular ``discount``)."""
    ids = obj.get("discounts") or []
    if "discounts" not in expand:
        return list(ids)
    known = {d["id"]: d for d in [obj.get("discount")] if isinstance(d, dict)}
    return [_discount(known[i], date) if i in known else i for i in ids]


def _with_discounts(obj: Obj, date: str, expand: frozenset[str]) -> Obj:
    return {**obj, "discounts": _discounts(obj, date, expand)} if "discounts" in obj else obj


def _subscription(sub: Obj, date: str, expand: frozenset[str]) -> Obj:
    out = _with_discounts(sub, date, expand)
    if date < BASIL:
        return out
    out = _without(
        out, "current_period_start", "current_period_end", "discount", "plan", "quantity"
    )
    out["items"] = _list(sub["items"], _item, date)
    return out


def _line(line: Obj, date: str) -> Obj:
    if date < BASIL:
        return line
    price = line.get("price") or {}
    details = {
        "invoice_item": None,
        "proration": line.get("proration", False),
        "proration_details": {"credited_items": None},
        "subscription": line.get("subscription"),
    }
    if line.get("type") == "invoiceitem":
        parent = {
            "type": "invoice_item_details",
            "invoice_item_details": {
                **details, "invoice_item": "ii_" + line["id"].removeprefix("il_")
            },
            "subscription_item_details": None,
        }
    else:
        parent = {
            "type": "subscription_item_details",
            "invoice_item_details": None,
            "subscription_item_details": {
                **details, "subscription_item": line.get("subscription_item")
            },
        }
    pricing = None
    if price:
        pricing = {
            "type": "price_details",
            "price_details": {"price": price["id"], "product": price.get("product")},
            "unit_amount_decimal": price.get("unit_amount_decimal"),
        }
    taxes = [
        {"amount": t["amount"], "tax_behavior": "inclusive" if t.get("inclusive") else "exclusive",
         "tax_rate_details": {"tax_rate": t.get("tax_rate")}, "taxability_reason": "standard_rated",
         "taxable_amount": t.get("taxable_amount"), "type": "tax_rate_details"}
        for t in line.get("tax_amounts") or []
    ]
    removed = ("price", "plan", "proration", "proration_details", "type", "subscription_item",
               "invoice_item", "tax_amounts", "tax_rates", "amount_excluding_tax",
               "unit_amount_excluding_tax")
    return {**_without(line, *removed), "parent": parent, "pricing": pricing,
            "pretax_credit_amounts": [], "subtotal": line["amount"], "taxes": taxes}


def _invoice(inv: Obj, date: str, expand: frozenset[str]) -> Obj:
    out = _with_discounts(inv, date, expand)
    if date < BASIL:
        return out
    subscription = inv.get("subscription")
    parent = None
    if subscription:
        parent = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription,
                                     "subscription_proration_date": None},
        }
    total_taxes = [
        {"amount": t["amount"], "tax_behavior": "inclusive" if t.get("inclusive") else "exclusive",
         "tax_rate_details": {"tax_rate": t.get("tax_rate")}, "taxability_reason": "standard_rated",
         "taxable_amount": inv.get("total_excluding_tax"), "type": "tax_rate_details"}
        for t in inv.get("total_tax_amounts") or []
    ]
    removed = ("subscription", "subscription_details", "subscription_proration_date", "charge",
               "payment_intent", "paid", "paid_out_of_band", "tax", "discount", "total_tax_amounts")
    return {**_without(out, *removed), "parent": parent, "total_taxes": total_taxes,
            "lines": _list(inv["lines"], _line, date)}


def _charge(charge: Obj, date: str, _expand: frozenset[str]) -> Obj:
    return charge if date < BASIL else _without(charge, "invoice")


def _embedded(render_one: Callable[[Obj, str], Obj]) -> Callable[[Obj, str, frozenset[str]], Obj]:
    return lambda obj, date, _expand: render_one(obj, date)


_RENDERERS: dict[str, Callable[[Obj, str, frozenset[str]], Obj]] = {
    "subscription": _subscription,
    "subscription_item": _embedded(_item),
    "invoice": _invoice,
    "line_item": _embedded(_line),
    "charge": _charge,
    "price": _price,
    "plan": lambda plan, date, _expand: _plan(plan, date) or plan,
    "discount": _embedded(_discount),
}
