"""The nightly build on the embedded sandbox (what ``make run`` does).

Simulate the business and write its truth, serve it on a free local port, point every source
at it, ingest, reconcile the raw row counts with the truth's expected counts, then build every
dbt model and test with one ``dbt build``. Quality gates and publishing join here as they land.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb

from ingestion.run import SourceResult, ingest
from ingestion.sandbox.client_env import source_env
from ingestion.sandbox.server import start_server
from ingestion.sandbox.simulation import simulate
from ingestion.sandbox.truth import write_truth
from ingestion.warehouse import warehouse_path
from orchestration.dbt_build import failures, run_dbt


def reconciliation_targets(counts: dict) -> list[tuple[str, int]]:
    """(raw table, rows it must hold) for every entry of the truth's expected counts."""
    targets = [(f"raw_stripe.{name}", n) for name, n in counts["stripe"].items()]
    targets.append(("raw_ga4.events", counts["ga4"]["events"]))
    for platform, entry in counts["ads"].items():
        targets.append((f"raw_{platform}.campaigns", entry["campaigns"]))
        targets.append((f"raw_{platform}.campaign_stats_daily", entry["daily_rows"]))
    return targets


def reconcile(counts: dict) -> list[tuple[str, int, int | None]]:
    """(table, expected rows, rows in the warehouse or None when the table is missing)."""
    result = []
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        existing = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for table, expected in reconciliation_targets(counts):
            actual = con.execute(f"select count(*) from {table}").fetchone()[0] if table in existing else None
            result.append((table, expected, actual))
    return result


def run_on_sandbox(seed: int, start: date, as_of: date, scale: str, sandbox_dir: Path) -> tuple[list[SourceResult], list]:
    sim = simulate(seed, start, as_of, scale, sandbox_dir / "ga4")
    counts = write_truth(sim, sandbox_dir / "truth")
    server = start_server(sim.world, port=0)
    try:
        os.environ.update(source_env(server.base_url, start))
        results = ingest()
    finally:
        server.shutdown()
    return results, reconcile(counts)


def build_marts() -> list[str]:
    """One ``dbt build`` of the whole project (models, seeds, tests); one line per failure."""
    return failures(run_dbt(["build", "--quiet"]))


def report_queries() -> dict[str, tuple[list[str], list[tuple]]]:
    """The last months of mrr_summary (reporting currency) and the latest kpi_alerts."""
    queries = {
        "mrr_summary": "select month, ending_mrr, new_mrr + reactivation_mrr + expansion_mrr as gained, "
                       "contraction_mrr + churn_mrr as lost, ending_customers, mrr_growth_rate, "
                       "net_revenue_retention, quick_ratio from main_marts.mrr_summary "
                       "where currency_scope = 'reporting' order by month desc limit 3",
        "kpi_alerts": "select period_start, metric, metric_value, status, bound_crossed from main_marts.kpi_alerts "
                      "where is_latest_period order by metric",
    }
    result = {}
    # not read_only: dbt ran in this process and DuckDB refuses a second configuration of a file
    with duckdb.connect(str(warehouse_path())) as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for name, sql in queries.items():
            relation = next((t for t in tables if t.endswith(f".{name}")), None)
            if relation is None:
                continue
            cursor = con.execute(sql.replace(f"main_marts.{name}", relation))
            result[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    return result
