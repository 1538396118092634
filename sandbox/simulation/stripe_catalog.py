"""Stripe's catalog objects for the simulated business: products, prices (and plans), coupons.

Created once, before the simulated history starts; the billing simulation refers to prices
and coupons by the keys used here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.simulation import catalog
from sandbox.simulation.ids import stripe_id


@dataclass(frozen=True)
class PriceRef:
    key: str  # e.g. "professional_month_usd"
    id: str
    product_id: str
    currency: str
    unit_amount: int
    interval: str | None  # month | year | None for one-time
    usage_type: str | None  # licensed | metered | None


@dataclass
class StripeCatalog:
    products: list[dict]
    prices: list[dict]
    coupons: list[dict]
    price_refs: dict[str, PriceRef]
    price_objects: dict[str, dict]  # by price id
    coupon_objects: dict[str, dict]  # by "CODE" or "CODE_usd" for amount coupons
    currencies: tuple[str, ...] = catalog.DEFAULT_CURRENCIES  # what the business bills in


def build_catalog(seed: int, created: int,
                  account: catalog.Account = catalog.FULL_ACCOUNT) -> StripeCatalog:
    products, prices, coupons = [], [], []
    refs: dict[str, PriceRef] = {}
    price_objects: dict[str, dict] = {}

    def product(key: str, name: str) -> str:
        pid = stripe_id("prod", seed, key)
        products.append({
            "id": pid, "object": "product", "active": True, "created": created, "updated": created,
            "default_price": None, "description": None, "livemode": False, "metadata": {"tier": key},
            "name": name, "type": "service", "unit_label": None, "url": None,
        })
        return pid

    def price(key: str, product_id: str, currency: str, amount: int, interval: str | None,
              usage_type: str | None, nickname: str) -> None:
        pid = stripe_id("price", seed, key)
        recurring = None if interval is None else {
            "aggregate_usage": "sum" if usage_type == "metered" else None, "interval": interval,
            "interval_count": 1, "meter": None, "trial_period_days": None, "usage_type": usage_type,
        }
        obj = {
            "id": pid, "object": "price", "active": True, "billing_scheme": "per_unit", "created": created,
            "currency": currency, "custom_unit_amount": None, "livemode": False,
            "lookup_key": key if account.lookup_keys else None,
            "metadata": {}, "nickname": nickname, "product": product_id, "recurring": recurring,
            "tax_behavior": "exclusive", "tiers_mode": None, "transform_quantity": None,
            "type": "one_time" if interval is None else "recurring",
            "unit_amount": amount, "unit_amount_decimal": str(amount),
        }
        prices.append(obj)
        price_objects[pid] = obj
        refs[key] = PriceRef(key, pid, product_id, currency, amount, interval, usage_type)

    for tier in catalog.TIERS:
        prod = product(tier, f"Northstar {catalog.TIER_NAMES[tier]}")
        for currency in account.currencies:
            monthly = catalog.MONTHLY_PRICE[tier][currency]
            price(f"{tier}_month_{currency}", prod, currency, monthly, "month", "licensed",
                  f"{catalog.TIER_NAMES[tier]} monthly")
            price(f"{tier}_year_{currency}", prod, currency, monthly * catalog.ANNUAL_MULTIPLIER, "year",
                  "licensed", f"{catalog.TIER_NAMES[tier]} annual")
    onboarding = product("onboarding", "Onboarding package")
    metered = product("api_calls", "API calls (per 1,000)")
    for currency in account.currencies:
        price(f"onboarding_{currency}", onboarding, currency, catalog.ONBOARDING_PRICE[currency], None, None,
              "Onboarding package")
        price(f"api_calls_{currency}", metered, currency, catalog.METERED_PRICE[currency], "month", "metered",
              "API calls")

    coupon_objects: dict[str, dict] = {}
    for spec in catalog.COUPONS if account.coupons else ():
        variants = [(spec.code, None, None)] if spec.amount_off is None else [
            (f"{spec.code}_{c.upper()}", c, spec.amount_off[c]) for c in account.currencies
        ]
        for coupon_id, currency, amount in variants:
            obj = {
                "id": coupon_id, "object": "coupon", "amount_off": amount, "created": created,
                "currency": currency, "duration": spec.duration, "duration_in_months": spec.duration_in_months,
                "livemode": False, "max_redemptions": None, "metadata": {}, "name": coupon_id,
                "percent_off": spec.percent_off, "redeem_by": None, "times_redeemed": 0, "valid": True,
            }
            coupons.append(obj)
            coupon_objects[coupon_id] = obj
    return StripeCatalog(products, prices, coupons, refs, price_objects, coupon_objects, account.currencies)


def plan_from_price(price: dict) -> dict:
    """The legacy ``plan`` object Stripe still embeds next to ``price`` on items and lines."""
    recurring = price["recurring"] or {}
    return {
        "id": price["id"], "object": "plan", "active": True, "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"], "billing_scheme": "per_unit",
        "created": price["created"], "currency": price["currency"], "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count"), "livemode": False, "metadata": {},
        "nickname": price["nickname"], "product": price["product"], "usage_type": recurring.get("usage_type"),
    }
