"""How the reports write numbers: money in the reporting currency, counts, rates, changes.

Shared by the digest and the weekly report so that a figure reads the same in both.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def money(amount: Decimal | float | None, currency: str, signed: bool = False) -> str:
    """``$13,628.99`` (``-$19.00`` / ``+$1.00`` when ``signed``); ``n/a`` for None."""
    if amount is None:
        return "n/a"
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    symbol = _SYMBOLS.get(currency.upper())
    text = f"{abs(value):,.2f}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def count(value: Decimal | float | None) -> str:
    """Whole counts as ``1,234``; fractional ones (attributed conversions) to one decimal."""
    if value is None:
        return "n/a"
    value = Decimal(str(value))
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.1f}"


def rate(value: Decimal | float | None, signed: bool = False) -> str:
    """A ratio as a percentage with one decimal: ``0.17146`` is ``17.1%``."""
    if value is None:
        return "n/a"
    percent = Decimal(str(value)) * 100
    return f"{percent:+.1f}%" if signed else f"{percent:.1f}%"


def change(now: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """(now - before) / before, None when ``before`` is 0 or missing."""
    if now is None or before is None or Decimal(before) == 0:
        return None
    return (Decimal(now) - Decimal(before)) / Decimal(before)


def kpi_value(metric: str, value: Decimal) -> str:
    """A KPI's value in its unit: rates as percentages, CAC as money, counts as counts."""
    if metric.endswith("_rate"):
        return rate(value)
    if metric.endswith("_usd"):
        return money(value, "USD")
    return count(value)


def kpi_label(metric: str) -> str:
    """``blended_cac_usd`` is ``Blended CAC (USD)``: the seed's metric name, readable."""
    words = {"cac": "CAC", "mrr": "MRR", "usd": "(USD)", "signups": "sign-ups"}
    text = " ".join(words.get(word, word) for word in metric.split("_"))
    return text[0].upper() + text[1:]


def period(start: date, grain: str) -> str:
    """``2025-12`` for a month, ``week of 2025-12-22`` for a week."""
    return start.strftime("%Y-%m") if grain == "month" else f"week of {start.isoformat()}"
