"""MRR per month x currency against the sandbox's two truths (sandbox/truth.py).

- ``mrr_monthly_observable.csv`` is what an observer of the Stripe API can know: a plan or
  quantity change that no invoice line and no served event dates counts from its next
  evidence. The warehouse must equal it exactly (4 decimals of a minor unit per currency, and
  6 decimals of a major unit, i.e. 4 of a cent, in the reporting currency): anything else is a
  reconstruction error, and blocks.
- ``mrr_monthly.csv`` is what really happened. Where the two part, ``mrr_undatable.csv`` names
  the subscriptions and the changes no evidence dates; those cells are reported apart (a WARN).

A pipeline that loaded earlier may know more than a first load (its stored states and events
date some of those changes), so an undatable subscription may show any value the truth lists
as knowable for it: the cell then differs from the observable total by that subscription's
choice. Each such term is a 4-decimal figure, so the cell is compared within half a unit of
the 4th decimal per term.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import product
from pathlib import Path

from sandbox.currency import exponent

OBSERVABLE_FILE = "mrr_monthly_observable.csv"
TRUTH_FILE = "mrr_monthly.csv"
UNDATABLE_FILE = "mrr_undatable.csv"
FX_FILE = "fx_rates_monthly.csv"
#: Beyond this many combinations of undatable subscriptions' values, a cell is only checked
#: to lie between the smallest and the largest sum.
MAX_COMBINATIONS = 4096

Cell = tuple[str, str]  # (month, currency)


@dataclass
class Undatable:
    subscription_id: str
    observable: Fraction
    knowable: list[Fraction]
    changes: str


@dataclass
class WarehouseCell:
    mrr_minor: Fraction  # exact
    active: int
    reporting_per_unit: Decimal | None


@dataclass
class Comparison:
    cells: int
    blocking: list[str] = field(default_factory=list)  # differences from what is knowable
    undatable: list[str] = field(default_factory=list)  # differences from the full truth


def fmt(value: Fraction, places: int = 4) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN))


def _read(path: Path, mode: str) -> list[dict]:
    with path.open(newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["mrr_discounts"] == mode]


def warehouse_cells(con) -> dict[Cell, WarehouseCell]:
    """The warehouse's MRR per month x currency, exact (none when the model is not built)."""
    built = con.execute("select count(*) from information_schema.tables where table_schema = 'intermediate' "
                        "and table_name = 'int_customer_mrr_monthly'").fetchone()[0]
    if not built:
        return {}
    rows = con.execute(
        "select cast(month as varchar), currency, cast(sum(mrr_x12) as varchar), "
        "count(*) filter (where is_active), cast(max(usd_per_unit) as varchar) "
        "from intermediate.int_customer_mrr_monthly group by all"
    ).fetchall()
    return {(month, cur): WarehouseCell(Fraction(Decimal(x12 or 0)) / 12, active,
                                        Decimal(rate) if rate is not None else None)
            for month, cur, x12, active, rate in rows}


def compare(con, truth: Path, mode: str = "forever") -> Comparison:
    """The warehouse's MRR against both truths, one line per differing cell."""
    observable = _cells(truth / OBSERVABLE_FILE, mode)
    full = _cells(truth / TRUTH_FILE, mode)
    undatable: dict[Cell, list[Undatable]] = defaultdict(list)
    for r in _read(truth / UNDATABLE_FILE, mode):
        knowable = [Fraction(v) for v in r["knowable_mrr_minor"].split(";")]
        seen = Fraction(r["observable_mrr_minor"])
        undatable[(r["month"], r["currency"])].append(
            Undatable(r["subscription_id"], seen, knowable, r["undated_changes"]))
    with (truth / FX_FILE).open(newline="") as handle:
        rates = {(r["month"], r["currency"].lower()): Decimal(r["reporting_per_unit"])
                 for r in csv.DictReader(handle)}
    model = warehouse_cells(con)
    result = Comparison(len(observable))
    for cell, expected in sorted(observable.items()):
        found = model.get(cell, WarehouseCell(Fraction(0), 0, None))
        subs = undatable.get(cell, [])
        problem = _knowable_problem(cell, expected, found, subs, rates.get(cell))
        if problem:
            result.blocking.append(problem)
        true = full[cell]
        shown = (fmt(found.mrr_minor), found.active)
        if shown != (true["mrr_minor"], int(true["active_customers"])):
            why = ", ".join(f"{u.subscription_id} changed {u.changes or '?'}" for u in subs)
            result.undatable.append(
                f"{cell[0]} {cell[1]}: truth {true['mrr_minor']}, warehouse "
                f"{fmt(found.mrr_minor)} minor units" + (f" (undatable: {why})" if why else ""))
    last = max(month for month, _ in observable)
    for (month, cur), found in sorted(model.items()):
        if (month, cur) not in observable and month <= last and found.mrr_minor:
            extra = fmt(found.mrr_minor)
            result.blocking.append(f"{month} {cur}: {extra} minor units the truth does not know")
    return result


def _cells(path: Path, mode: str) -> dict[Cell, dict]:
    return {(r["month"], r["currency"]): r for r in _read(path, mode)}


def _knowable_problem(cell: Cell, expected: dict, found: WarehouseCell, subs: list[Undatable],
                      truth_rate: Decimal | None) -> str | None:
    """Why the cell is not a value a pipeline could know, or None."""
    month, cur = cell
    known = _knowable(found.mrr_minor, expected, subs)
    if found.active != int(expected["active_customers"]) or not known:
        return (f"{month} {cur}: observable truth {expected['mrr_minor']} minor units / "
                f"{expected['active_customers']} customers, warehouse {fmt(found.mrr_minor)} / "
                f"{found.active}")
    # in the reporting currency: the truth's figure, or (when an earlier load knew more) the
    # warehouse's MRR at the truth's rate
    major = found.mrr_minor / 10 ** exponent(cur)
    if fmt(found.mrr_minor) == expected["mrr_minor"]:
        want = expected["mrr_usd"]
    else:
        want = fmt(major * Fraction(truth_rate), 6) if truth_rate is not None else "no rate"
    rate = found.reporting_per_unit
    got = fmt(major * Fraction(rate), 6) if rate is not None else "no rate"
    if got != want:
        return f"{month} {cur}: observable truth {want} in the reporting currency, warehouse {got}"
    return None


def _knowable(value: Fraction, expected: dict, subs: list[Undatable]) -> bool:
    if fmt(value) == expected["mrr_minor"]:
        return True
    if not subs:
        return False
    departure = value - Fraction(Decimal(expected["mrr_minor"]))
    slack = Fraction(len(subs) + 1, 20000)  # half a unit of the 4th decimal per term
    choices = [[v - s.observable for v in s.knowable] for s in subs]
    count = 1
    for values in choices:
        count *= len(values)
    if count > MAX_COMBINATIONS:
        low = sum((min(values) for values in choices), Fraction(0))
        high = sum((max(values) for values in choices), Fraction(0))
        return low - slack <= departure <= high + slack
    return any(abs(departure - sum(combo, Fraction(0))) <= slack for combo in product(*choices))
