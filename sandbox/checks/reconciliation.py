"""Reconciliation with the sandbox's truth: blocking checks of a build on the embedded sandbox.

The sandbox writes what it simulated (sandbox/truth.py) next to its GA4 export;
``NORTHSTAR_SANDBOX_TRUTH`` names that folder (``northstar run --sandbox`` and ``northstar dev
--sandbox`` set it), and orchestration adds these checks through its plug-in point
(orchestration/plugins.py, sandbox/plugin.py). Two audits:
- every raw table holds exactly the rows the sandbox served (one check per table): blocking,
  a missing or extra row stops publishing;
- MRR per month and currency equals what the Stripe API can date (the sandbox's observable
  truth) exactly, to 4 decimals of a minor unit and of a reporting-currency cent: blocking.
  A plan change whose prorations were never invoiced is dated by no Stripe object once its
  events are older than Stripe's 30 days, so it counts from its next evidence; the cells
  where that parts the warehouse from what really happened (on seed 42, default scale: 10 of
  96) are reported apart, as a WARN naming the subscriptions (mrr_reconciliation.py).
A production deployment has no truth to compare with: these checks exist only with the setting.
"""

# no `from __future__ import annotations`: Dagster reads the context annotation at definition time

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from sandbox.checks import mrr_reconciliation

MRR_ASSET = AssetKey("int_customer_mrr_monthly")

#: Stripe serves 30 days of events; raw_stripe.events keeps every event ever read, so only the
#: served window is compared (the sandbox's EVENT_RETENTION_SECONDS).
EVENT_WINDOW_SECONDS = 30 * 24 * 3600


def row_count_targets(counts: dict) -> list[tuple[AssetKey, str, int]]:
    """(asset key, raw table, rows it must hold) for each expected count; ``raw_stripe.events``
    is compared over the window the sandbox serves (see ``relation``)."""
    targets = [(AssetKey(["stripe", name]), f"raw_stripe.{name}", n) for name, n in counts["stripe"].items()]
    targets.append((AssetKey(["ga4", "events"]), "raw_ga4.events", counts["ga4"]["events"]))
    for platform, entry in counts["ads"].items():
        targets.append((AssetKey([platform, "campaigns"]), f"raw_{platform}.campaigns", entry["campaigns"]))
        targets.append((AssetKey([platform, "campaign_stats_daily"]), f"raw_{platform}.campaign_stats_daily",
                        entry["daily_rows"]))
    for name, n in counts.get("ecb_fx", {}).items():  # truth files written before the ECB source have none
        targets.append((AssetKey(["ecb_fx", name]), f"raw_ecb_fx.{name}", n))
    return targets


def relation(table: str, counts: dict) -> str:
    """What to count for ``table``: the served window of events, every row elsewhere."""
    if table != "raw_stripe.events":
        return table
    as_of = int(datetime.combine(date.fromisoformat(counts["as_of"]), time(), tzinfo=UTC).timestamp())
    return f"(select * from raw_stripe.events where created >= {as_of - EVENT_WINDOW_SECONDS})"


def row_counts(con, counts: dict) -> list[tuple[AssetKey, str, int, int | None]]:
    """(asset key, raw table, expected rows, rows in the warehouse or None when missing)."""
    existing = _tables(con)
    return [(key, table, expected,
             con.execute(f"select count(*) from {relation(table, counts)}").fetchone()[0]
             if table in existing else None)
            for key, table, expected in row_count_targets(counts)]


def row_count_outcome(table: str, expected: int, actual: int | None) -> tuple[bool, str]:
    """(passed, one line) for one raw table. A table that is not there holds no rows, so zero
    expected rows equals a missing table: an account without a refund has no refunds table
    to hold none, and must still publish."""
    held = 0 if actual is None else actual
    if actual is None:
        found = "no table" + (" (none expected: fine)" if expected == 0 else "")
    else:
        found = f"{actual} rows"
    return held == expected, f"{table}: expected {expected} rows, found {found}"


def _tables(con) -> set[str]:
    rows = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    return {f"{s}.{t}" for s, t in rows}


def build_row_count_checks(truth: Path) -> AssetChecksDefinition:
    counts = json.loads((truth / "expected_counts.json").read_text())
    targets = row_count_targets(counts)
    specs = [AssetCheckSpec("rows_match_sandbox_truth", asset=key, blocking=True,
                            description=f"{table} holds exactly the {expected} rows the sandbox served")
             for key, table, expected in targets]

    @multi_asset_check(specs=specs, name="sandbox_row_counts", can_subset=True, pool=WAREHOUSE_POOL)
    def sandbox_row_counts(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[AssetCheckResult]:
        selected = {c.asset_key for c in context.selected_asset_check_keys}
        with warehouse.reading_draft(context.run.run_id) as con:
            found = row_counts(con, counts)
        for key, table, expected, actual in found:
            if key not in selected:
                continue
            passed, line = row_count_outcome(table, expected, actual)
            yield AssetCheckResult(asset_key=key, check_name="rows_match_sandbox_truth", passed=passed,
                                   metadata={"expected": expected, "actual": -1 if actual is None else actual},
                                   description=line)

    return sandbox_row_counts


KNOWABLE_CHECK, TRUTH_CHECK = "mrr_matches_observable_truth", "mrr_matches_sandbox_truth"


def build_mrr_checks(truth: Path) -> AssetChecksDefinition:
    """Blocking: MRR equals what Stripe's data can date. WARN: the cells it cannot."""
    specs = [
        AssetCheckSpec(KNOWABLE_CHECK, asset=MRR_ASSET, blocking=True,
                       description="MRR per month x currency equals what the Stripe API can "
                                   "date (the sandbox's observable truth), to 4 decimals of a "
                                   "minor unit"),
        AssetCheckSpec(TRUTH_CHECK, asset=MRR_ASSET, blocking=False,
                       description="MRR per month x currency equals what really happened, but for "
                                   "changes no Stripe data dates"),
    ]

    @multi_asset_check(specs=specs, name="sandbox_mrr", can_subset=True, pool=WAREHOUSE_POOL)
    def sandbox_mrr(
        context: AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[AssetCheckResult]:
        selected = {c.name for c in context.selected_asset_check_keys}
        with warehouse.reading_draft(context.run.run_id) as con:
            result = mrr_reconciliation.compare(con, truth)
        cells = result.cells
        if KNOWABLE_CHECK in selected:
            yield AssetCheckResult(
                asset_key=MRR_ASSET, check_name=KNOWABLE_CHECK, passed=not result.blocking,
                metadata={"cells": cells, "differences": len(result.blocking)},
                description=_cells_line(result.blocking, cells,
                                        "differ from what Stripe's data can date",
                                        "equal what Stripe's data can date"))
        if TRUTH_CHECK in selected:
            yield AssetCheckResult(
                asset_key=MRR_ASSET, check_name=TRUTH_CHECK, passed=not result.undatable,
                severity=AssetCheckSeverity.WARN,
                metadata={"cells": cells, "differences": len(result.undatable)},
                description=_cells_line(result.undatable, cells, "differ from what really happened",
                                        "equal what really happened"))

    return sandbox_mrr


def _cells_line(differences: list[str], cells: int, differ: str, equal: str) -> str:
    if not differences:
        return f"{cells} month x currency cells {equal}"
    listed = "; ".join(differences[:3])
    return f"{len(differences)} of {cells} month x currency cells {differ}: {listed}"


def build_reconciliation_checks(truth: Path) -> list[AssetChecksDefinition]:
    """Both audits against the truth folder ``truth``; none when it holds no truth yet."""
    if not (truth / "expected_counts.json").exists():
        return []
    return [build_row_count_checks(truth), build_mrr_checks(truth)]
