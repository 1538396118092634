"""No published number gets worse: the draft's history is compared with the published warehouse.

A nightly rebuilds every month from the raw data, so a bug, a lost event or a bad load can
quietly rewrite a month that readers already saw. Before publishing, the draft's key numbers of
the months already published, ``mrr_summary``'s ending MRR and ending customers per month x
billing currency, are compared with the warehouse BI tools read now:

- production (no truth to judge by): a *closed* month's number must not move. A month is closed
  when the published warehouse already has a later month (so the open month a nightly extends
  is never flagged, and no wall clock is read). A move larger than
  ``NORTHSTAR_HISTORY_TOLERANCE`` (a relative share of the published value, default 0: any move)
  blocks publishing; each is reported with month, currency, published and draft value. To let a
  deliberate restatement through, raise the tolerance for that one run.
- sandbox (``NORTHSTAR_SANDBOX_TRUTH``): the truth decides, through the judge the sandbox's
  plug-in gives (orchestration/plugins.py, sandbox/checks/history.py): a number may move, but
  not farther from the truth than the published one is.

A first run (no published file, or one without the marts) and months new in the draft have
nothing to compare with, and pass.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

HISTORY_ASSET = AssetKey("mrr_summary")
CHECK_NAME = "published_history_not_worse"
TOLERANCE_SETTING = "NORTHSTAR_HISTORY_TOLERANCE"
#: How many of the moved numbers the one-line description names (all are in the metadata).
SHOWN = 5

#: (month, currency) -> (ending MRR in major units, ending customers)
KeyNumbers = dict[tuple[str, str], tuple[Decimal, int]]


class SettingError(ValueError):
    """A setting's value is unusable; the message names the setting."""


def tolerance(environ: dict[str, str] | None = None) -> Decimal:
    """``NORTHSTAR_HISTORY_TOLERANCE`` as a share (0.001 = 0.1 %), default 0."""
    raw = (environ if environ is not None else os.environ).get(TOLERANCE_SETTING, "").strip()
    if not raw:
        return Decimal(0)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0:
        raise SettingError(f"{TOLERANCE_SETTING} must be a number >= 0 (a share: 0.001 = 0.1 %), "
                           f"got {raw!r}")
    return value


def key_numbers(con: duckdb.DuckDBPyConnection) -> KeyNumbers | None:
    """The billing-currency rows of ``mrr_summary``, or None when the warehouse has none yet.

    The reporting-currency rows are left out: they move with the month's FX rate, which the
    ECB may correct, and every one of them is a sum of the billing-currency rows compared here.
    """
    if not _has_table(con, "metrics", "mrr_summary"):
        return None
    rows = con.execute("select cast(month as varchar), currency, ending_mrr, ending_customers "
                       "from metrics.mrr_summary where currency_scope = 'currency'").fetchall()
    return {(m, c): (Decimal(mrr or 0), int(n or 0)) for m, c, mrr, n in rows}


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables "
                            "where table_schema = ? and table_name = ?", [schema, table]).fetchone()[0])


def _moved(old: Decimal, new: Decimal, share: Decimal) -> bool:
    return abs(new - old) > share * abs(old)


def history_moves(published: KeyNumbers, draft: KeyNumbers, share: Decimal) -> tuple[int, list[str]]:
    """(closed cells compared, one line per number that moved beyond ``share`` of its value)."""
    if not published:
        return 0, []
    open_month = max(month for month, _ in published)
    closed = sorted(cell for cell in published if cell[0] < open_month)
    lines = []
    for month, currency in closed:
        old_mrr, old_customers = published[(month, currency)]
        new = draft.get((month, currency))
        new_mrr, new_customers = new if new is not None else (Decimal(0), 0)
        if _moved(old_mrr, new_mrr, share):
            lines.append(f"{month} {currency}: ending MRR {old_mrr} -> {new_mrr}")
        if _moved(Decimal(old_customers), Decimal(new_customers), share):
            lines.append(f"{month} {currency}: ending customers {old_customers} -> {new_customers}")
    return len(closed), lines


@dataclass
class Outcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


class Judge(Protocol):
    """A verdict other than "closed months may not move": the sandbox's, by its truth."""

    description: str  # how it judges, for the check's description

    def __call__(self, published: duckdb.DuckDBPyConnection, draft: duckdb.DuckDBPyConnection,
                 before: KeyNumbers, after: KeyNumbers, share: Decimal) -> Outcome: ...


def compare_with_published(draft: duckdb.DuckDBPyConnection, published_path: Path,
                           judge: Judge | None, share: Decimal) -> Outcome:
    """The check's verdict for the draft behind ``draft`` against the file at ``published_path``:
    ``judge``'s when there is one, else no closed month may move beyond ``share``."""
    if not published_path.exists():
        return Outcome(True, "first run: no published warehouse to compare with", {"mode": "first run"})
    with duckdb.connect(str(published_path), read_only=True) as published:
        before = key_numbers(published)
        if before is None:
            return Outcome(True, "the published warehouse has no mrr_summary yet: nothing to compare",
                           {"mode": "first run"})
        if judge is not None:
            return judge(published, draft, before, key_numbers(draft) or {}, share)
    cells, moves = history_moves(before, key_numbers(draft) or {}, share)
    metadata = {"mode": "production", "closed_cells": cells, "moved": len(moves),
                "tolerance": str(share)}
    if moves:
        return Outcome(False, f"{_numbers(len(moves))} of closed months moved beyond "
                       f"{TOLERANCE_SETTING}={share}: " + "; ".join(moves[:SHOWN]), metadata)
    return Outcome(True, f"{cells} closed month x currency cells equal the published warehouse",
                   metadata)


def _numbers(count: int) -> str:
    return f"{count} published number" + ("" if count == 1 else "s")


def build_history_check(judge: Judge | None = None) -> AssetChecksDefinition:
    """The check; ``judge`` (the sandbox's, from orchestration/plugins.py) replaces the
    closed-month rule."""
    judged = (judge.description if judge is not None
              else f"closed months may not move beyond {TOLERANCE_SETTING} (default 0)")

    @asset_check(asset=HISTORY_ASSET, name=CHECK_NAME, blocking=True, pool=WAREHOUSE_POOL,
                 description="A run may not publish a number worse than the last published one: "
                 f"ending MRR and customers per month x currency of the months already published; {judged}")
    def published_history_not_worse(context: AssetCheckExecutionContext,
                                    warehouse: WarehouseResource) -> AssetCheckResult:
        try:
            share = tolerance()
        except SettingError as exc:
            return AssetCheckResult(passed=False, severity=AssetCheckSeverity.ERROR,
                                    description=str(exc))
        with warehouse.reading_draft(context.run.run_id) as con:
            outcome = compare_with_published(con, warehouse.published_path, judge, share)
        return AssetCheckResult(passed=outcome.passed, severity=AssetCheckSeverity.ERROR,
                                metadata=outcome.metadata, description=outcome.description)

    return published_history_not_worse
