"""The nightly build on the embedded sandbox (what ``make run`` does).

Simulate the business and write its truth, serve it on a free local port, point every source
at it and ``NORTHSTAR_SANDBOX_TRUTH`` at the truth, then execute the Dagster ``nightly`` job
in-process: ingestion, one ``dbt build``, the quality suites, the reconciliations with the
truth, the KPI checks and, when every blocking check passed, publishing.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import duckdb
from dagster import DagsterInstance

from ingestion.sandbox.client_env import source_env
from ingestion.sandbox.server import start_server
from ingestion.sandbox.simulation import Simulation, catalog, simulate
from ingestion.sandbox.truth import write_truth
from ingestion.warehouse import warehouse_path
from orchestration.checks.reconciliation import TRUTH_SETTING
from orchestration.nightly import NightlyOutcome, run_nightly


def serve_sandbox(seed: int, start: date, as_of: date, scale: str, sandbox_dir: Path,
                  currencies: tuple[str, ...] = catalog.DEFAULT_CURRENCIES):
    """Simulate, write the truth, start the server and point the sources and checks at it.

    Returns the running server (``shutdown()`` it).
    """
    sim = simulate(seed, start, as_of, scale, sandbox_dir / "ga4", currencies=currencies)
    return serve_simulation(sim, sandbox_dir)


def serve_simulation(sim: Simulation, sandbox_dir: Path):
    """Write ``sim``'s truth, serve its world on a free port, and point sources and checks at it."""
    write_truth(sim, sandbox_dir / "truth")
    server = start_server(sim.world, port=0)
    os.environ.update(source_env(server.base_url, sim.world.start))
    os.environ[TRUTH_SETTING] = str((sandbox_dir / "truth").resolve())
    return server


def run_on_sandbox(seed: int, start: date, as_of: date, scale: str, sandbox_dir: Path,
                   instance: DagsterInstance | None = None,
                   currencies: tuple[str, ...] = catalog.DEFAULT_CURRENCIES) -> NightlyOutcome:
    server = serve_sandbox(seed, start, as_of, scale, sandbox_dir, currencies)
    try:
        return run_nightly(instance)
    finally:
        server.shutdown()


def report_queries() -> dict[str, tuple[list[str], list[tuple]]]:
    """The last months of mrr_summary (reporting currency) and the latest kpi_alerts."""
    queries = {
        "mrr_summary": "select month, ending_mrr, new_mrr + reactivation_mrr + expansion_mrr as gained, "
                       "contraction_mrr + churn_mrr as lost, ending_customers, mrr_growth_rate, "
                       "net_revenue_retention, quick_ratio from main.mrr_summary "
                       "where currency_scope = 'reporting' order by month desc limit 3",
        "kpi_alerts": "select period_start, metric, metric_value, status, bound_crossed from main.kpi_alerts "
                      "where is_latest_period order by metric",
    }
    result = {}
    with duckdb.connect(str(warehouse_path()), read_only=True) as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for name, sql in queries.items():
            relation = next((t for t in tables if t.endswith(f".{name}")), None)
            if relation is None:
                continue
            cursor = con.execute(sql.replace(f"main.{name}", relation))
            result[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    return result
