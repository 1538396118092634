"""The ECB Data Portal's euro reference rates, as the sandbox serves them (SDMX REST, CSV).

``GET /service/data/EXR/{key}?format=csvdata&startPeriod=...&endPeriod=...&detail=...`` with
a series key of five dot-separated dimensions (FREQ.CURRENCY.CURRENCY_DENOM.EXR_TYPE.
EXR_SUFFIX), each empty for "any" or codes joined by ``+``: ``D..EUR.SP00.A`` is every daily
reference rate against the euro. The answer is the Data Portal's ``csvdata``: one line per
observation, ordered by series then day, ``OBS_VALUE`` in currency units per euro.
No data for the query is a 404 (``No results found.``), as the ECB answers.

Rates are invented but deterministic: an integer-only function of (currency, day), so the
server, the ground truth and any test compute the very same decimal on any machine.
Published on TARGET business days only (no weekends, no 1 January, Good Friday, Easter
Monday, 1 May, 25 and 26 December), from the euro's first day up to the day before as-of.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from sandbox.http import Request, Response
from sandbox.world import World

#: The first day the ECB published euro reference rates.
FIRST_DAY = date(1999, 1, 4)
#: ISO code -> (English name, a typical rate in units per euro). Every currency the simulation
#: bills or advertises in must be here (tests/sandbox/test_ecb_api.py checks it).
SERIES: dict[str, tuple[str, str]] = {
    "AUD": ("Australian dollar", "1.63"),
    "BRL": ("Brazilian real", "5.90"),
    "CAD": ("Canadian dollar", "1.48"),
    "CHF": ("Swiss franc", "0.97"),
    "CNY": ("Chinese yuan renminbi", "7.80"),
    "CZK": ("Czech koruna", "25.0"),
    "DKK": ("Danish krone", "7.46"),
    "GBP": ("Pound sterling", "0.86"),
    "HKD": ("Hong Kong dollar", "8.60"),
    "HUF": ("Hungarian forint", "390"),
    "INR": ("Indian rupee", "90.0"),
    "JPY": ("Japanese yen", "150"),
    "KRW": ("Korean won", "1450"),
    "MXN": ("Mexican peso", "19.5"),
    "NOK": ("Norwegian krone", "11.5"),
    "NZD": ("New Zealand dollar", "1.80"),
    "PLN": ("Polish zloty", "4.30"),
    "SEK": ("Swedish krona", "11.3"),
    "SGD": ("Singapore dollar", "1.45"),
    "USD": ("US dollar", "1.10"),
    "ZAR": ("South African rand", "20.0"),
}
#: The columns of the Data Portal's ``csvdata`` (detail=full); ``detail=dataonly`` keeps the
#: dimensions, TIME_PERIOD and OBS_VALUE.
COLUMNS = (
    "KEY", "FREQ", "CURRENCY", "CURRENCY_DENOM", "EXR_TYPE", "EXR_SUFFIX", "TIME_PERIOD", "OBS_VALUE",
    "OBS_STATUS", "OBS_CONF", "OBS_PRE_BREAK", "OBS_COM", "TIME_FORMAT", "BREAKS", "COLLECTION",
    "COMPILING_ORG", "DISS_ORG", "DOM_SER_IDS", "PUBL_ECB", "PUBL_MU", "PUBL_PUBLIC", "UNIT_INDEX_BASE",
    "COMPILATION", "COVERAGE", "DECIMALS", "NAT_TITLE", "SOURCE_AGENCY", "SOURCE_PUB", "TITLE",
    "TITLE_COMPL", "UNIT", "UNIT_MULT",
)
DATA_ONLY_COLUMNS = COLUMNS[:8]
CONTENT_TYPE = "application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8"

_PATH = re.compile(r"^/service/data/(?P<flow>[^/]+)/(?P<key>[^/]*)/?$")
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
#: The wave and noise of the invented rates, in parts per million of the typical rate.
_SLOW_PERIOD, _FAST_PERIOD = 733, 97


def _easter(year: int) -> date:
    """Easter Sunday (the Meeus/Jones/Butcher Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def _target_holidays(year: int) -> frozenset[date]:
    easter = _easter(year)
    return frozenset({date(year, 1, 1), easter - timedelta(days=2), easter + timedelta(days=1),
                      date(year, 5, 1), date(year, 12, 25), date(year, 12, 26)})


def is_publication_day(day: date) -> bool:
    """Whether the ECB publishes reference rates on ``day`` (a TARGET business day)."""
    return day >= FIRST_DAY and day.weekday() < 5 and day not in _target_holidays(day.year)


def _unit_hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def _triangle_ppm(x: int, period: int) -> int:
    """A triangle wave in parts per million, between -1e6 and 1e6 (integers only)."""
    return abs(4 * (x % period) - 2 * period) * 1_000_000 // period - 1_000_000


@lru_cache(maxsize=200_000)
def reference_rate(currency: str, day: date) -> Decimal:
    """Units of ``currency`` per euro on ``day``, as published: 5 significant digits (at least 2
    decimals). Defined on every day; the ECB publishes it on publication days only."""
    code = currency.upper()
    typical = Decimal(SERIES[code][1])
    phase = _unit_hash("phase", code) % _SLOW_PERIOD
    t = day.toordinal()
    wave_ppm = (60 * _triangle_ppm(t + phase, _SLOW_PERIOD) // 1000
                + 15 * _triangle_ppm(t + 3 * phase, _FAST_PERIOD) // 1000
                + 2 * (_unit_hash(code, t) % 2001 - 1000))
    scaled = int(typical.scaleb(6)) * (1_000_000 + wave_ppm)  # the rate x 10^12
    integer_digits = len(str(scaled // 10**12)) if scaled >= 10**12 else 0
    decimals = max(2, 5 - integer_digits)
    step = 10 ** (12 - decimals)
    return Decimal((scaled + step // 2) // step).scaleb(-decimals)


def publication_days(first: date, last: date) -> Iterator[date]:
    """Every publication day from ``first`` to ``last`` (inclusive)."""
    day = max(first, FIRST_DAY)
    while day <= last:
        if is_publication_day(day):
            yield day
        day += timedelta(days=1)


def published_rates(
    currencies: list[str] | tuple[str, ...], first: date, last: date
) -> list[tuple[date, str, Decimal]]:
    """(day, currency, units per euro) for each currency, on each publication day in range:
    what the server serves and what the truth converts with."""
    days = list(publication_days(first, last))
    return [(day, code, reference_rate(code, day)) for code in sorted(c.upper() for c in currencies) for day in days]


def last_publication_day(month: date, as_of: date) -> date | None:
    """The month's last publication day before ``as_of`` (the latest so far for the current month)."""
    last = min(date(month.year + month.month // 12, month.month % 12 + 1, 1), as_of) - timedelta(days=1)
    day = last
    while day >= month:
        if is_publication_day(day):
            return day
        day -= timedelta(days=1)
    return None


def client_start_date(world_start: date) -> date:
    """The first day the sandbox's clients ask for (SOURCES__ECB_FX__START_DATE): 1 January of
    the year before the simulated business starts, before its first Stripe object."""
    return date(world_start.year - 1, 1, 1)


# --- serving ------------------------------------------------------------------------------


class SdmxError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        return Response(self.status, (str(self) + "\n").encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _period(text: str | None, name: str, end: bool) -> date | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` as the first (or, for an end, last) day it covers."""
    if not text:
        return None
    match = _PERIOD.match(text)
    try:
        if match is None:
            raise ValueError
        year, month, day = int(match[1]), int(match[2] or 0), int(match[3] or 0)
        if day:
            return date(year, month, day)
        if month:
            first = date(year, month, 1)
            return (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)) if end else first
        return date(year, 12, 31) if end else date(year, 1, 1)
    except ValueError:
        raise SdmxError(400, f"Invalid value for parameter {name}: {text}") from None


def _dimension(value: str) -> set[str] | None:
    return None if value == "" else set(value.split("+"))


def _matching_currencies(key: str) -> list[str]:
    parts = key.split(".")
    if len(parts) != 5:
        raise SdmxError(400, f"Invalid key {key!r}: EXR has 5 dimensions "
                             "(FREQ.CURRENCY.CURRENCY_DENOM.EXR_TYPE.EXR_SUFFIX)")
    freq, currency, denominator, kind, suffix = (_dimension(p) for p in parts)
    if any(d is not None and wanted not in d for d, wanted in ((freq, "D"), (denominator, "EUR"), (kind, "SP00"),
                                                                (suffix, "A"))):
        return []
    return sorted(SERIES if currency is None else set(SERIES) & currency)


def _csv_row(code: str, day: date, rate: Decimal) -> list[str]:
    name = SERIES[code][0]
    decimals = -rate.as_tuple().exponent
    return [f"EXR.D.{code}.EUR.SP00.A", "D", code, "EUR", "SP00", "A", day.isoformat(), str(rate),
            "A", "F", "", "", "P1D", "", "A", "", "", "", "", "", "", "99Q1=100", "", "", str(decimals), "", "4F0", "",
            f"{name}/Euro ECB reference exchange rate",
            f"ECB reference exchange rate, {name}/Euro, 2:15 pm (C.E.T.)", code, "0"]


def _wants_csv(request: Request) -> bool:
    fmt = request.arg("format")
    if fmt is not None:
        return fmt == "csvdata"
    accept = request.headers.get("accept", "")
    return "csv" in accept


def handle(world: World, request: Request) -> Response:
    """Serve ``GET /service/data/EXR/{key}`` as the Data Portal's csvdata."""
    try:
        match = _PATH.match(request.path)
        if match is None or request.method not in ("GET", "HEAD"):
            raise SdmxError(404, "No results found.")
        if match["flow"] not in ("EXR", "ECB,EXR", "ECB,EXR,1.0"):
            raise SdmxError(404, f"No results found. Unknown dataflow {match['flow']!r} (the sandbox serves EXR).")
        if not _wants_csv(request):
            raise SdmxError(406, "Not Acceptable: the sandbox serves format=csvdata only")
        detail = request.arg("detail", "full")
        if detail not in ("full", "dataonly"):
            raise SdmxError(501, f"detail={detail} is not implemented by the sandbox")
        currencies = _matching_currencies(match["key"])
        first = _period(request.arg("startPeriod"), "startPeriod", end=False) or FIRST_DAY
        last = min(_period(request.arg("endPeriod"), "endPeriod", end=True) or date.max,
                   world.as_of - timedelta(days=1))
        rows = published_rates(currencies, first, last) if currencies else []
        if not rows:
            raise SdmxError(404, "No results found.")
    except SdmxError as exc:
        return exc.response()
    columns = COLUMNS if detail == "full" else DATA_ONLY_COLUMNS
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for day, code, rate in rows:
        writer.writerow(_csv_row(code, day, rate)[: len(columns)])
    return Response(200, out.getvalue().encode(), {"Content-Type": CONTENT_TYPE})
