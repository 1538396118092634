"""Currency facts shared by the sandbox and the warehouse: minor-unit exponents and FX.

Stripe amounts are integers in a currency's minor unit; the exponent says how many digits
that unit has. Monthly FX rates follow docs/metrics.md "Money" from the ECB reference rates the
sandbox serves (``ecb_api``), computed as dbt's ``int_fx_rates_monthly`` computes them from
the loaded copy, so the truth and the warehouse agree exactly.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from sandbox import ecb_api

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


#: Decimals of a month's reporting-currency rate: the scale of dbt's int_fx_rates_monthly.
RATE_DECIMALS = 10


def _previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def rate_day(month: date, as_of: date) -> date:
    """The ECB publication day whose rates convert ``month``: the month's last one, or for the
    current month (the one holding as-of's eve) the latest so far, which is last month's last
    when the month has none yet. ValueError names the month when there is none."""
    day = ecb_api.last_publication_day(month, as_of)
    current = (as_of - timedelta(days=1)).replace(day=1)
    if day is None and month == current:
        day = ecb_api.last_publication_day(_previous_month(month), as_of)
    if day is None:
        raise ValueError(f"no ECB rate in {month:%Y-%m}")
    return day


def reporting_rate(currency: str, month: date, as_of: date, reporting: str = "USD") -> Decimal:
    """Reporting-currency units per unit of ``currency`` in ``month`` (docs/metrics.md "Money").

    The ECB reference rates of ``rate_day`` crossed through the euro: (reporting per EUR) /
    (currency per EUR), the euro itself at 1 per EUR, rounded half up to RATE_DECIMALS like
    dbt's ``exact_divide``. The reporting currency is exactly 1. The rates are the ones the
    sandbox serves (ecb_api.reference_rate), so truth and warehouse convert alike.
    """
    code, target = currency.upper(), reporting.upper()
    if code == target:
        return Decimal(1)
    day = rate_day(month, as_of)
    per_eur = {c: Fraction(1) if c == "EUR" else Fraction(ecb_api.reference_rate(c, day)) for c in (code, target)}
    scaled = per_eur[target] / per_eur[code] * 10**RATE_DECIMALS
    return Decimal(math.floor(scaled + Fraction(1, 2))).scaleb(-RATE_DECIMALS)
