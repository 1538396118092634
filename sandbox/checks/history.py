"""The history check's verdict in sandbox mode: no number farther from the truth than published.

``published_history_not_worse`` (orchestration/checks/history.py) compares the draft's key
numbers of the months already published with the published warehouse. In production, with no
truth to judge by, a closed month may not move. On the sandbox the truth decides: for every
month x currency the published warehouse and the truth both have, the draft's distance to the
truth (MRR in minor units to 4 decimals, and active customers, from ``int_customer_mrr_monthly``
as in the reconciliation) may not be larger than the published warehouse's. A number moving
*towards* the truth is a repair, not a regression: it publishes (and is counted in the metadata).
Orchestration gets this judge through its plug-in point (orchestration/plugins.py).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import duckdb

from orchestration.checks.history import SHOWN, KeyNumbers, Outcome, history_moves
from sandbox.checks.mrr_reconciliation import fmt

#: (month, currency) -> (MRR in minor units to 4 decimals, active customers)
MrrCells = dict[tuple[str, str], tuple[Decimal, int]]


def truth_mrr(truth: Path, mode: str = "forever") -> MrrCells:
    """The sandbox's MRR per month x currency for the ``mrr_discounts`` mode."""
    with (truth / "mrr_monthly.csv").open(newline="") as handle:
        return {(r["month"], r["currency"]): (Decimal(r["mrr_minor"]), int(r["active_customers"]))
                for r in csv.DictReader(handle) if r["mrr_discounts"] == mode}


def model_mrr(con: duckdb.DuckDBPyConnection) -> MrrCells:
    """The warehouse's MRR per month x currency, exact then rounded like the truth (none when
    the model is not built yet)."""
    built = con.execute("select count(*) from information_schema.tables where table_schema = 'intermediate' "
                        "and table_name = 'int_customer_mrr_monthly'").fetchone()[0]
    if not built:
        return {}
    rows = con.execute("select cast(month as varchar), currency, cast(sum(mrr_x12) as varchar), "
                       "count(*) filter (where is_active) from intermediate.int_customer_mrr_monthly "
                       "group by all").fetchall()
    return {(m, c): (Decimal(fmt(Fraction(Decimal(x12 or 0)) / 12)), n) for m, c, x12, n in rows}


def truth_regressions(published: dict, draft: dict, truth: dict) -> tuple[int, list[str], int]:
    """(cells compared, one line per number farther from the truth than published, numbers
    that moved closer). Each dict maps (month, currency) -> (MRR minor units, customers)."""
    cells = sorted(cell for cell in truth if cell[0] in {month for month, _ in published})
    worse, repaired = [], 0
    zero = (Decimal(0), 0)
    for month, currency in cells:
        true_mrr, true_customers = truth[(month, currency)]
        was_mrr, was_customers = published.get((month, currency), zero)
        now_mrr, now_customers = draft.get((month, currency), zero)
        for what, true, was, now in (("MRR (minor units)", Decimal(true_mrr), Decimal(was_mrr),
                                      Decimal(now_mrr)),
                                     ("customers", Decimal(true_customers), Decimal(was_customers),
                                      Decimal(now_customers))):
            if abs(now - true) > abs(was - true):
                worse.append(f"{month} {currency}: {what} published {was}, draft {now}, truth {true}")
            elif abs(now - true) < abs(was - true):
                repaired += 1
    return len(cells), worse, repaired


@dataclass(frozen=True)
class TruthJudge:
    """The judge ``compare_with_published`` calls instead of its closed-month rule."""

    truth: Path
    description: str = "its distance to the sandbox's truth may not grow"

    def __call__(self, published: duckdb.DuckDBPyConnection, draft: duckdb.DuckDBPyConnection,
                 before: KeyNumbers, after: KeyNumbers, share: Decimal) -> Outcome:
        cells, worse, repaired = truth_regressions(model_mrr(published), model_mrr(draft),
                                                   truth_mrr(self.truth))
        _, moves = history_moves(before, after, share)
        metadata = {"mode": "sandbox", "cells": cells, "worse": len(worse),
                    "closer_to_truth": repaired, "history_moved": len(moves)}
        if worse:
            numbers = f"{len(worse)} number" + ("" if len(worse) == 1 else "s")
            return Outcome(False, f"{numbers} farther from the sandbox's truth than published: "
                           + "; ".join(worse[:SHOWN]), metadata)
        return Outcome(True, f"{cells} month x currency cells no farther from the truth than "
                       f"published ({repaired} numbers closer)", metadata)


def truth_judge(truth: Path) -> TruthJudge | None:
    """The judge for the truth folder ``truth``, or None when it holds no MRR truth yet."""
    return TruthJudge(truth) if (truth / "mrr_monthly.csv").exists() else None
