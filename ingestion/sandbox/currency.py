"""Currency facts shared by the sandbox and the warehouse seeds: minor-unit exponents and FX.

Stripe amounts are integers in a currency's minor unit; the exponent says how many digits
that unit has. FX rates are a deterministic monthly table (USD per unit of currency) so that
the sandbox's truth and the dbt seed ``seeds/fx_rates_monthly.csv`` agree exactly.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

ZERO_DECIMAL = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def exponent(currency: str) -> int:
    """Digits of the minor unit: 0 for JPY and friends, 3 for KWD and friends, else 2."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_major(minor: int | Decimal, currency: str) -> Decimal:
    """Minor units to major units, exactly."""
    return Decimal(minor).scaleb(-exponent(currency))


#: Currencies the sandbox bills and advertises in, with a base USD rate and a monthly wobble.
_FX_BASE = {"USD": (1.0, 0.0), "EUR": (1.085, 0.025), "GBP": (1.265, 0.02), "JPY": (0.00675, 0.0003)}
#: Months the FX table covers (the sandbox clamps its start and as-of to these).
FX_FIRST_MONTH = date(2020, 1, 1)
FX_LAST_MONTH = date(2030, 12, 1)


def fx_rate(currency: str, month: date) -> Decimal:
    """USD per one major unit of ``currency`` in ``month``, rounded to 6 decimals.

    A smooth deterministic curve rather than random draws: the committed seed file and the
    simulator must agree without sharing state.
    """
    base, wobble = _FX_BASE[currency.upper()]
    if wobble == 0:
        return Decimal("1.000000")
    index = (month.year - 2020) * 12 + month.month - 1
    value = base + wobble * math.sin(index / 5.0 + len(currency))
    return Decimal(f"{value:.8f}").quantize(Decimal("0.000001"))


def fx_table() -> list[tuple[date, str, Decimal]]:
    """Every (month, currency, rate) from FX_FIRST_MONTH to FX_LAST_MONTH."""
    rows = []
    month = FX_FIRST_MONTH
    while month <= FX_LAST_MONTH:
        for currency in sorted(_FX_BASE):
            rows.append((month, currency, fx_rate(currency, month)))
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return rows
